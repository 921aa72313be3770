"""The handler of each job type, one module per type.

`HANDLERS` maps a job type to "module:function"; modules are imported on first use so the
worker starts fast and a broken optional dependency only fails its own jobs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..runner import JobContext

HANDLERS: dict[str, str] = {
    "ping": "studybuddy.worker.handlers.ping:handle",
    "ingest": "studybuddy.worker.handlers.ingest:handle",
    "summary": "studybuddy.worker.handlers.summary:handle",
    "flashcards": "studybuddy.worker.handlers.flashcards:handle",
    "quiz": "studybuddy.worker.handlers.quiz:handle",
    "quiz_grade": "studybuddy.worker.handlers.quiz_grade:handle",
    "glossary": "studybuddy.worker.handlers.glossary:handle",
    "homework": "studybuddy.worker.handlers.homework:handle",
    "chat": "studybuddy.worker.handlers.chat:handle",
    "study_guide": "studybuddy.worker.handlers.formats:study_guide",
    "faq": "studybuddy.worker.handlers.formats:faq",
    "mind_map": "studybuddy.worker.handlers.formats:mind_map",
}


def _load(target: str) -> Callable[[JobContext], str]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def default_handlers() -> dict[str, Callable[[JobContext], str]]:
    """Every registered handler, imported."""
    return {job_type: _load(target) for job_type, target in HANDLERS.items()}
