"""Homework help: a step-by-step explanation grounded in the course passages that match the problem."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..ai.base import SourceChunk, ToolRequest
from .titles import short_text
from .tools import RETRIEVAL_K, check_course, job_params, retrieved_sources, run_ai, save_artifact

if TYPE_CHECKING:
    from ..worker.runner import JobContext


def help_job(ctx: JobContext) -> str:
    """The homework job. Tied to a course, it reads the passages that match the problem; when
    none match (or there is no course) the explanation is general and cites nothing."""
    params = job_params(ctx, "homework")
    sources: list[SourceChunk] = []
    if ctx.job.course_id:
        check_course(ctx)
        ctx.progress(10, "Looking through the material")
        sources = retrieved_sources(ctx.services, ctx.job.course_id, params["problem"], RETRIEVAL_K["homework"])
    request = ToolRequest(tool="homework", sources=sources, language=params["language"],
                          params={"problem": params["problem"]})
    ctx.progress(30, "Working it out")
    result = run_ai(ctx.services, request)
    ctx.progress(90, "Saving")
    title = short_text(params["problem"], 80)
    return save_artifact(ctx, "homework", title, request, result).id
