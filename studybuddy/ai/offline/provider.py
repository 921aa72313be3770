"""The offline provider: no network, no keys, deterministic. Built from the material itself.

Summaries are extractive and follow the material's headings, flashcards and the glossary come
from the definitions the material states, quiz distractors are other items of the same kind,
open answers are compared word by word (and said to be approximate), and chat and homework
answers are composed from the best-matching passages with their citations.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..base import ProviderBadOutput, ToolRequest, ToolResult
from ..schemas import SchemaError, validate
from . import answer, cards, glossary, grading, guide, quiz, summarise

log = logging.getLogger(__name__)

THIN_MATERIAL = "too little usable text in the material"

BUILDERS: dict[str, Callable[[ToolRequest], dict[str, Any]]] = {
    "summary": summarise.summary,
    "flashcards": cards.flashcards,
    "quiz": quiz.quiz,
    "quiz_grade": grading.quiz_grade,
    "glossary": glossary.glossary,
    "homework": answer.homework,
    "chat": answer.chat,
    "study_guide": guide.study_guide,
    "faq": guide.faq,
    "mind_map": guide.mind_map,
}


class LocalProvider:
    """Offline, extractive study tools for Hebrew and English material."""

    name = "local"
    model = "extractive-2"

    def run(self, request: ToolRequest) -> ToolResult:
        builder = BUILDERS.get(request.tool)
        if builder is None:
            raise ProviderBadOutput(f"local provider has no tool {request.tool!r}", provider=self.name)
        started = time.perf_counter()
        data = builder(request)
        try:
            checked = validate(request.tool, data, request)
        except SchemaError as exc:
            # An empty list (no definitions found, say) fails the schema's minItems: thin material.
            log.info("local %s: %s", request.tool, exc)
            raise ProviderBadOutput(f"{THIN_MATERIAL}: {exc}", provider=self.name) from exc
        return ToolResult(data=checked, provider=self.name, model=self.model,
                          latency_ms=int((time.perf_counter() - started) * 1000))

    def probe(self) -> None:
        """Nothing to reach: the local provider is always available."""
