"""Parsers are untrusted: extraction and OCR run in a child process under limits.

The child gets a wall-clock limit (the parent kills it), a CPU-time limit (RLIMIT_CPU) and an
address-space limit (RLIMIT_AS), all from the ingest settings; Tesseract, started by the
child, inherits the last two. A child past a limit ends the document with a message the
student understands, and the worker itself never holds a parser's memory.

Children are forked from a small server process that imported the parsers once
(multiprocessing's "forkserver"), so a child starts in milliseconds and never inherits the
worker's threads or locks.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from . import messages
from .parsing import ExtractionError, Progress, no_progress

if TYPE_CHECKING:
    from ..config import IngestConfig

log = logging.getLogger(__name__)

_PRELOAD = ["studybuddy.ingest.extract", "pypdfium2", "PIL.Image", "docx", "pptx", "bidi", "pytesseract"]
_context_lock = threading.Lock()
_context: Any = None
KILL_GRACE_SECONDS = 5


def _mp_context() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            _context = context
        return _context


def _apply_limits(cfg: IngestConfig) -> None:
    cpu = max(1, int(cfg.parse_cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + KILL_GRACE_SECONDS))
    memory = max(64, int(cfg.parse_memory_mb)) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def _child(kind: str, data: bytes, cfg: IngestConfig, conn: Connection) -> None:
    """Runs in the child: limits first, then the extractor; every outcome goes back as a message."""
    from .extract import extract_pages

    try:
        _apply_limits(cfg)
        pages = extract_pages(kind, data, cfg, lambda done, total: conn.send(("progress", done, total)))
        conn.send(("pages", pages))
    except ExtractionError as exc:
        conn.send(("error", exc.user_message, exc.internal))
    except MemoryError:
        conn.send(("error", messages.TOO_COMPLEX, "address-space limit reached"))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
        conn.send(("crash", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _kill(process: Any) -> None:
    if process.is_alive():
        process.kill()
    process.join(KILL_GRACE_SECONDS)


def extract_pages_isolated(kind: str, data: bytes, cfg: IngestConfig,
                           progress: Progress = no_progress) -> list[str]:
    """extract_pages in a bounded child process; ExtractionError for bad input or a breached limit."""
    context = _mp_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(kind, data, cfg, sender), daemon=True,
                              name="studybuddy-parser")
    started = time.monotonic()
    process.start()
    sender.close()
    deadline = started + max(1, cfg.parse_timeout_seconds)
    outcome: tuple[Any, ...] | None = None
    try:
        while outcome is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _kill(process)
                raise ExtractionError(messages.TOO_COMPLEX,
                                      f"wall-clock limit of {cfg.parse_timeout_seconds} s reached")
            if not receiver.poll(min(remaining, 1.0)):
                if not process.is_alive() and not receiver.poll(0):
                    break
                continue
            try:
                message = receiver.recv()
            except (EOFError, OSError):
                break  # the child died without a word
            if message[0] == "progress":
                progress(message[1], message[2])
            else:
                outcome = message
    finally:
        receiver.close()
    process.join(KILL_GRACE_SECONDS)
    _kill(process)
    if outcome is None:
        raise ExtractionError(messages.TOO_COMPLEX, _death(process.exitcode, cfg))
    if outcome[0] == "pages":
        pages: list[str] = outcome[1]
        return pages
    if outcome[0] == "error":
        raise ExtractionError(outcome[1], outcome[2])
    raise ExtractionError(messages.INTERNAL, f"parser crashed: {outcome[1]}")


def _death(exitcode: int | None, cfg: IngestConfig) -> str:
    """Why a child ended without an answer, for the log."""
    if exitcode in (-signal.SIGXCPU, -signal.SIGKILL):
        return f"killed by the CPU limit of {cfg.parse_cpu_seconds} s (exit {exitcode})"
    if exitcode == -signal.SIGSEGV:
        return f"crashed (segmentation fault; address-space limit {cfg.parse_memory_mb} MB)"
    return f"parser process ended with exit code {exitcode}"
