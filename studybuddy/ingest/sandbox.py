"""Parsers are untrusted: extraction and OCR run in a child process under limits.

The child (`python -m studybuddy.ingest.child`) sets its own CPU-time (RLIMIT_CPU) and
address-space (RLIMIT_AS) limits before it reads the document; Tesseract, which it starts,
inherits them. The parent enforces the wall-clock limit and kills the child past it. A child
past any limit ends the document with a message the student understands, and the worker
itself never holds a parser's memory. The child is a fresh interpreter, so it shares no
threads, locks or memory with the worker.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any

from . import messages
from .parsing import ExtractionError, Progress, no_progress

if TYPE_CHECKING:
    from ..config import IngestConfig

log = logging.getLogger(__name__)

KILL_GRACE_SECONDS = 5


def _read_lines(stream: IO[bytes], out: queue.Queue[dict[str, Any] | None]) -> None:
    try:
        for raw in stream:
            try:
                out.put(json.loads(raw))
            except ValueError:
                log.warning("parser child wrote a line that is not JSON: %.80r", raw)
    finally:
        out.put(None)


def _feed(stdin: IO[bytes], header: bytes, data: bytes) -> None:
    try:
        stdin.write(header)
        stdin.write(data)
    except (BrokenPipeError, OSError):
        pass  # the child died early; its exit code tells why
    finally:
        try:
            stdin.close()
        except OSError:
            pass


def extract_pages_isolated(kind: str, data: bytes, cfg: IngestConfig,
                           progress: Progress = no_progress) -> list[str]:
    """extract_pages in a bounded child process; ExtractionError for bad input or a breached limit."""
    header = json.dumps({"kind": kind, "size": len(data), "config": dataclasses.asdict(cfg)}).encode() + b"\n"
    child = subprocess.Popen(
        [sys.executable, "-m", "studybuddy.ingest.child"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True,
    )
    assert child.stdin is not None and child.stdout is not None
    lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
    feeder = threading.Thread(target=_feed, args=(child.stdin, header, data), daemon=True,
                              name="parser-feed")
    reader = threading.Thread(target=_read_lines, args=(child.stdout, lines), daemon=True,
                              name="parser-read")
    feeder.start()
    reader.start()
    deadline = time.monotonic() + max(1, cfg.parse_timeout_seconds)
    outcome: dict[str, Any] | None = None
    try:
        while outcome is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ExtractionError(messages.TOO_COMPLEX,
                                      f"wall-clock limit of {cfg.parse_timeout_seconds} s reached")
            try:
                line = lines.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if line is None:
                break  # the child closed its output without an answer
            if "progress" in line:
                progress(*line["progress"])
            else:
                outcome = line
    finally:
        if child.poll() is None:
            try:
                child.wait(KILL_GRACE_SECONDS if outcome is not None else 0)
            except subprocess.TimeoutExpired:
                pass
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()
        feeder.join(KILL_GRACE_SECONDS)
    if outcome is None:
        raise ExtractionError(messages.TOO_COMPLEX, _death(child.returncode, cfg))
    if "pages" in outcome:
        pages: list[str] = outcome["pages"]
        return pages
    if "error" in outcome:
        user_message, internal = outcome["error"]
        raise ExtractionError(user_message, internal)
    raise ExtractionError(messages.INTERNAL, f"parser crashed: {outcome.get('crash')}")


def _death(returncode: int | None, cfg: IngestConfig) -> str:
    """Why a child ended without an answer, for the log."""
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return f"killed by the CPU limit of {cfg.parse_cpu_seconds} s (exit {returncode})"
    if returncode in (-signal.SIGSEGV, -signal.SIGABRT):
        return f"crashed (signal {-returncode}; address-space limit {cfg.parse_memory_mb} MB)"
    return f"parser process ended with exit code {returncode}"
