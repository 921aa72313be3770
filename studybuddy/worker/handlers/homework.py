"""The homework job: a step-by-step explanation grounded in the matching course passages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...study.homework import help_job

if TYPE_CHECKING:
    from ..runner import JobContext


def handle(ctx: JobContext) -> str:
    return help_job(ctx)
