"""The quiz_grade job: grade the open answers of a quiz attempt."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...study.quiz import grade_job

if TYPE_CHECKING:
    from ..runner import JobContext


def handle(ctx: JobContext) -> str:
    return grade_job(ctx)
