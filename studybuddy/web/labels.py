"""Names of job types and states, shared by the pages and their live updates.

Module-level tables of English msgids (the catalog extractor reads them); templates translate
them with `_()` as they print them. A Python table, not a template imported with context, so
nothing is rebuilt per request.
"""

from __future__ import annotations

from typing import Any

from flask import Flask


def N_(message: str) -> str:
    """Marks a message for the catalogs; it is translated where it is shown."""
    return message


JOB_TYPE_NAMES = {
    "ingest": N_("Reading a file"), "summary": N_("Summary"), "glossary": N_("Glossary"),
    "flashcards": N_("Flashcards"), "quiz": N_("Quiz"), "quiz_grade": N_("Quiz grading"),
    "homework": N_("Homework help"), "chat": N_("Chat with Avner"), "ping": N_("System check"),
    "study_guide": N_("Study guide"), "faq": N_("FAQ"), "mind_map": N_("Mind map"),
}
STATE_TEXT = {
    "queued": "Waiting", "running": "Working", "succeeded": "Done", "failed": "Failed",
    "dead": "Failed", "cancelled": "Cancelled",
}


def init_app(app: Flask) -> None:
    labels: dict[str, Any] = {"job_type_names": JOB_TYPE_NAMES, "job_state_names": STATE_TEXT}
    app.jinja_env.globals.update(labels, has_endpoint=lambda name: name in app.view_functions)
