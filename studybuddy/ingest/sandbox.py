"""Parsers are untrusted: extraction and OCR run in a child process under limits.

The child (`python -m studybuddy.ingest.child`) sets a CPU-time limit (RLIMIT_CPU) and an
address-space limit (RLIMIT_AS) for each document before it reads it; Tesseract, which it
starts, inherits them. The parent enforces the wall-clock limit and kills the child past it.
A child past any limit ends the document with a message the student understands, and the
worker itself never holds a parser's memory. The child is a fresh interpreter: it shares no
threads, locks or memory with the worker.

A child that read a document well is kept for the next one (starting an interpreter costs
more than reading a short PDF), unless it has grown past RECYCLE_RSS_MB or served
MAX_DOCUMENTS; after any failure it is killed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from . import messages
from .parsing import ExtractionError, Progress, no_progress

if TYPE_CHECKING:
    from ..config import IngestConfig

log = logging.getLogger(__name__)

KILL_GRACE_SECONDS = 5
RECYCLE_RSS_MB = 256
MAX_DOCUMENTS = 50
MAX_IDLE = 2


# What a parser needs from the worker's environment; nothing else (no credentials' whereabouts).
_PASSED_ON = ("PATH", "LANG", "LANGUAGE", "TZ", "HOME", "TMPDIR", "PYTHONPATH", "TESSDATA_PREFIX",
              "OMP_THREAD_LIMIT")


def _child_environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key in _PASSED_ON or key.startswith("LC_")}
    # Tesseract's OpenMP threads spin against each other on a busy host; one thread a page is faster.
    env.setdefault("OMP_THREAD_LIMIT", "1")
    return env


class _Parser:
    """One parser child; its answers are read here, with a deadline, as they come."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "studybuddy.ingest.child"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True, env=_child_environment(),
        )
        assert self.process.stdout is not None
        self.fd = self.process.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.fd, selectors.EVENT_READ)
        self.pending = b""  # the start of a line not yet complete
        self.documents = 0

    def answers(self, deadline: float) -> Iterator[dict[str, Any] | None]:
        """The child's answer lines until its output ends (then None); TimeoutError past the deadline."""
        while True:
            while b"\n" in self.pending:
                raw, self.pending = self.pending.split(b"\n", 1)
                try:
                    yield json.loads(raw)
                except ValueError:
                    log.warning("parser child wrote a line that is not JSON: %.80r", raw)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if not self.selector.select(remaining):
                continue
            try:
                chunk = os.read(self.fd, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                yield None
                return
            self.pending += chunk

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, header: bytes, data: bytes) -> None:
        """Write one document in a thread of its own: a child that dies early cannot block us."""
        stdin = self.process.stdin

        def feed() -> None:
            try:
                assert stdin is not None
                stdin.write(header)
                stdin.write(data)
                stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                pass  # the child died; its exit code tells why

        threading.Thread(target=feed, daemon=True, name=f"parser-feed-{self.process.pid}").start()

    def rss_mb(self) -> float:
        try:
            import psutil

            return float(psutil.Process(self.process.pid).memory_info().rss) / (1024 * 1024)
        except Exception:  # noqa: BLE001 - a child we cannot measure is not kept
            return float("inf")

    def stop(self) -> int | None:
        """Kill the child, then close its pipes (closing first would wait on the thread feeding it)."""
        if self.process.poll() is None:
            self.process.kill()
        returncode = self.process.wait()
        self.selector.close()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        return returncode


_idle: list[_Parser] = []
_idle_lock = threading.Lock()


def _take_parser() -> _Parser:
    with _idle_lock:
        while _idle:
            parser = _idle.pop()
            if parser.alive():
                return parser
            parser.stop()
    return _Parser()


def _give_back(parser: _Parser) -> None:
    keep = parser.alive() and parser.documents < MAX_DOCUMENTS and parser.rss_mb() < RECYCLE_RSS_MB
    if keep:
        with _idle_lock:
            if len(_idle) < MAX_IDLE:
                _idle.append(parser)
                return
    parser.stop()


def stop_idle_parsers() -> None:
    """Ends the children kept for the next document (at shutdown, and in tests)."""
    with _idle_lock:
        parsers = list(_idle)
        _idle.clear()
    for parser in parsers:
        parser.stop()


PageSink = Callable[[int, str], None]  # (page number from 1, raw text)


def _no_sink(number: int, text: str) -> None:
    return None


def extract_pages_isolated(kind: str, data: bytes, cfg: IngestConfig,
                           progress: Progress = no_progress, on_page: PageSink = _no_sink) -> list[str]:
    """extract_pages in a bounded child process; ExtractionError for bad input or a breached limit.

    `on_page` gets each page as it arrives, so the caller can work on page 1 while the child
    reads page 2.
    """
    header = json.dumps({"kind": kind, "size": len(data), "config": dataclasses.asdict(cfg)}).encode() + b"\n"
    parser = _take_parser()
    parser.documents += 1
    parser.send(header, data)
    deadline = time.monotonic() + max(1, cfg.parse_timeout_seconds)
    outcome: dict[str, Any] | None = None
    pages: list[str] = []
    returncode: int | None = None
    try:
        for line in parser.answers(deadline):
            if line is None:
                break  # the child ended without an answer
            if "page" in line:
                pages.append(line["page"])
                on_page(len(pages), line["page"])
                progress(len(pages), line["of"])
            elif "progress" in line:
                progress(*line["progress"])
            else:
                outcome = line
                break
    except TimeoutError:
        raise ExtractionError(messages.TOO_COMPLEX,
                              f"wall-clock limit of {cfg.parse_timeout_seconds} s reached") from None
    finally:
        if outcome is not None and "done" in outcome:
            _give_back(parser)
        else:
            returncode = parser.stop()
    if outcome is None:
        raise ExtractionError(messages.TOO_COMPLEX, _death(returncode, cfg))
    if "done" in outcome:
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
