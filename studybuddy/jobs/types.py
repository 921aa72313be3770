"""Every job type and the queue it travels on. The six queue names are fixed."""

from __future__ import annotations

from ..config import QUEUE_NAMES
from .errors import UnknownJobType

# type -> queue. `ping` (the monitor's canary) is accepted on every queue.
JOB_TYPES: dict[str, str] = {
    "ingest": "file_processing",
    "summary": "summarize",
    "glossary": "summarize",
    "flashcards": "flashcards",
    "quiz": "assess",
    "quiz_grade": "assess",
    "homework": "homework",
    "chat": "avner_chat",
    "study_guide": "summarize",
    "faq": "summarize",
    "mind_map": "summarize",
}

ANY_QUEUE_TYPES = frozenset({"ping"})


def queue_for(job_type: str, requested_queue: str | None = None) -> str:
    """The queue a job of this type goes to; raises UnknownJobType."""
    if job_type in ANY_QUEUE_TYPES:
        queue = requested_queue or QUEUE_NAMES[0]
        if queue not in QUEUE_NAMES:
            raise UnknownJobType(f"unknown queue {queue!r}")
        return queue
    try:
        return JOB_TYPES[job_type]
    except KeyError:
        raise UnknownJobType(f"unknown job type {job_type!r}") from None
