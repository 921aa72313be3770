"""The parser child: documents from stdin, one at a time, answers as JSON lines on stdout.

Input, for each document: one JSON line {"kind", "size", "config"} followed by `size` bytes.
Output lines: {"page": text, "of": pages in all} for each page as soon as it is read (a PDF
page by page, other kinds at the end), {"progress": [done, total]} now and then, and last one
of {"done": pages}, {"error": [user message, internal detail]} or {"crash": "detail"}. Before each document the
child sets its limits: CPU time (RLIMIT_CPU, counted from what it has used so far) and
address space (RLIMIT_AS). It ends when its input ends.
"""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import sys
import time
from typing import Any

log = logging.getLogger(__name__)

KILL_GRACE_SECONDS = 5
PROGRESS_EVERY_SECONDS = 0.25  # progress is news for a person: a few lines a second are plenty


def apply_limits(cpu_seconds: int, memory_mb: int) -> bool:
    """Limits for the next document; the hard limits stay open so the next one can set its own.

    False when the system refuses (a seccomp filter without setrlimit): the document is then
    read under the parent's wall-clock limit alone, and the journal says so.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    try:
        _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(used + max(1, int(cpu_seconds))), cpu_hard))
        _, memory_hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (max(64, int(memory_mb)) * 1024 * 1024, memory_hard))
    except (OSError, ValueError) as exc:
        log.warning("cannot limit the parser's CPU and memory (%s); the wall-clock limit still holds", exc)
        return False
    return True


# Pages go out in small batches: each write wakes the worker, which tidies a batch while this
# process reads on; a short batch leaves it little to tidy after the last page.
FLUSH_EVERY_SECONDS = 0.005


def _say(out: Any, message: dict[str, Any], flush: bool = True) -> None:
    out.write(json.dumps(message, ensure_ascii=False).encode() + b"\n")
    if flush:
        out.flush()


def serve_one(source: Any, out: Any) -> bool:
    """Read and answer one document; False when the input has ended."""
    line = source.readline()
    if not line:
        return False
    header = json.loads(line)
    settings = header["config"]
    data = source.read(int(header["size"]))
    apply_limits(settings["parse_cpu_seconds"], settings["parse_memory_mb"])
    from ..config import IngestConfig
    from . import messages
    from .extract import extract_pages
    from .parsing import ExtractionError
    from .pdf import pdf_pages

    last = [time.monotonic()]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_SECONDS or done == total:
            last[0] = now
            _say(out, {"progress": [done, total]})

    try:
        cfg = IngestConfig(**settings)
        count = 0
        if header["kind"] == "pdf" and data:
            flushed = time.monotonic()
            for total, text in pdf_pages(data, cfg):
                count += 1
                now = time.monotonic()
                _say(out, {"page": text, "of": total}, flush=now - flushed >= FLUSH_EVERY_SECONDS)
                if now - flushed >= FLUSH_EVERY_SECONDS:
                    flushed = now
        else:
            pages = extract_pages(header["kind"], data, cfg, progress)
            for text in pages:
                _say(out, {"page": text, "of": len(pages)})
            count = len(pages)
        _say(out, {"done": count})
    except ExtractionError as exc:
        _say(out, {"error": [exc.user_message, exc.internal]})
    except MemoryError:
        _say(out, {"error": [messages.TOO_COMPLEX, "address-space limit reached"]})
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
        _say(out, {"crash": f"{type(exc).__name__}: {exc}"})
    return True


def main() -> int:
    from ..logging import setup_logging

    # The answers get a descriptor of their own; whatever a library prints goes to stderr
    # (the journal) instead of into them.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=1 << 20)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    setup_logging()
    while serve_one(sys.stdin.buffer, answers):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
