"""The parser child: limits first, then one document from stdin, answers as JSON lines on stdout.

Input: one JSON line {"kind", "size", "config"} followed by `size` bytes of the document.
Output lines: {"progress": [done, total]} while it works, then one of {"pages": [...]},
{"error": [user message, internal detail]} or {"crash": "detail"}.
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

KILL_GRACE_SECONDS = 5


def apply_limits(cpu_seconds: int, memory_mb: int) -> None:
    cpu = max(1, int(cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + KILL_GRACE_SECONDS))
    memory = max(64, int(memory_mb)) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def _say(out: Any, message: dict[str, Any]) -> None:
    out.write(json.dumps(message, ensure_ascii=False).encode() + b"\n")
    out.flush()


def main() -> int:
    out = sys.stdout.buffer
    header = json.loads(sys.stdin.buffer.readline())
    settings = header["config"]
    apply_limits(settings["parse_cpu_seconds"], settings["parse_memory_mb"])
    from ..config import IngestConfig
    from . import messages
    from .extract import extract_pages
    from .parsing import ExtractionError

    try:
        data = sys.stdin.buffer.read(int(header["size"]))
        cfg = IngestConfig(**settings)
        pages = extract_pages(header["kind"], data, cfg,
                              lambda done, total: _say(out, {"progress": [done, total]}))
        _say(out, {"pages": pages})
    except ExtractionError as exc:
        _say(out, {"error": [exc.user_message, exc.internal]})
    except MemoryError:
        _say(out, {"error": [messages.TOO_COMPLEX, "address-space limit reached"]})
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
        _say(out, {"crash": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
