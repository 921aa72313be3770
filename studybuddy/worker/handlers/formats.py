"""The study guide, FAQ and mind map jobs (queue summarize): read the material, ask, keep it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...study.tools import run_material_tool

if TYPE_CHECKING:
    from ..runner import JobContext


def study_guide(ctx: JobContext) -> str:
    return run_material_tool(ctx, "study_guide")


def faq(ctx: JobContext) -> str:
    return run_material_tool(ctx, "faq")


def mind_map(ctx: JobContext) -> str:
    return run_material_tool(ctx, "mind_map")
