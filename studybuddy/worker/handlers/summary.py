"""The summary job: summarise a document or a whole course."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...study.tools import run_material_tool

if TYPE_CHECKING:
    from ..runner import JobContext


def handle(ctx: JobContext) -> str:
    return run_material_tool(ctx, "summary")
