"""The chat job: Avner answers a question from the course material, with citations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...study.chat import answer_job

if TYPE_CHECKING:
    from ..runner import JobContext


def handle(ctx: JobContext) -> str:
    return answer_job(ctx)
