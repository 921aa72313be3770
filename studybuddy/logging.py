"""Logging to stderr with syslog priority prefixes, so journald keeps the levels."""

from __future__ import annotations

import logging
import sys

_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class PriorityFormatter(logging.Formatter):
    """`<3>studybuddy.worker: message` — journald strips the prefix and keeps the level."""

    def __init__(self, with_time: bool = False):
        fmt = "%(asctime)s %(name)s: %(message)s" if with_time else "%(name)s: %(message)s"
        super().__init__(fmt)

    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITY.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        text = super().format(record)
        # Every line of a multi-line record (tracebacks) keeps the priority.
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


def setup_logging(level: str = "info", stream: object = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(PriorityFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("amqp", "kombu", "pymongo", "httpx", "httpcore", "openai", "google_genai", "waitress.queue"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
