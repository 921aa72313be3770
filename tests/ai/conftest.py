"""Fixtures for the AI layer: fake provider servers, a config pointing at them, sample material."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from studybuddy.ai.base import SourceChunk, ToolRequest
from studybuddy.config import Config
from tests.ai.fakes import FakeGemini, FakeOpenAI
from tests.conftest import make_config

TIMEOUT = 0.6  # seconds: the providers' timeout in these tests; stalls last longer


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.close()


@pytest.fixture
def gemini_server() -> Iterator[FakeGemini]:
    server = FakeGemini()
    yield server
    server.close()


@pytest.fixture
def ai_cfg(tmp_path: Path, openai_server: FakeOpenAI, gemini_server: FakeGemini) -> Config:
    return make_config(
        tmp_path,
        ai={
            "openai_api_key": "sk-test-openai",
            "openai_model": "gpt-test",
            "openai_base_url": f"{openai_server.url}/v1",
            "gemini_api_key": "test-gemini-key",
            "gemini_model": "gemini-test",
            "gemini_base_url": gemini_server.url,
            "timeout_seconds": TIMEOUT,
            "max_retries": 2,
            "breaker_failures": 3,
            "breaker_cooldown_seconds": 30.0,
            "retry_backoff_seconds": 0.01,
            "retry_backoff_max_seconds": 0.05,
        },
    )


SOURCES = [
    SourceChunk(
        1, "c1", "d1", "photosynthesis.pdf", 3, "Photosynthesis converts light energy into chemical energy."
    ),
    SourceChunk(
        2, "c2", "d1", "photosynthesis.pdf", 4, "Chlorophyll is the green pigment that absorbs light."
    ),
    SourceChunk(3, "c3", "d2", "cells.docx", 1, "The mitochondrion is the powerhouse of the cell."),
]


def request(tool: str, **params: Any) -> ToolRequest:
    return ToolRequest(tool=tool, sources=list(SOURCES), language="en", params=params)


VALID: dict[str, dict[str, Any]] = {
    "summary": {"title": "Energy", "markdown": "- Light becomes chemical energy [1]", "citations": [1, 2]},
    "flashcards": {
        "cards": [
            {"front": "What does chlorophyll do?", "back": "It absorbs light.", "source": 2},
            {"front": "Powerhouse of the cell?", "back": "The mitochondrion.", "source": 3},
        ]
    },
    "quiz": {
        "questions": [
            {
                "type": "mc",
                "stem": "Which pigment absorbs light?",
                "options": ["Chlorophyll", "Keratin", "Insulin", "Melanin"],
                "correct": 0,
                "answer": "Chlorophyll",
                "explanation": "Source 2 says chlorophyll absorbs light.",
                "source": 2,
            }
        ]
    },
    "quiz_grade": {"score": 0.5, "feedback": "Half right.", "approximate": False},
    "glossary": {
        "terms": [{"term": "Chlorophyll", "definition": "The green pigment that absorbs light.", "source": 2}]
    },
    "homework": {"markdown": "Step by step [1]", "steps": ["Read", "Solve"], "citations": [1]},
    "chat": {"markdown": "Light energy becomes chemical energy 🌿 [1]", "citations": [1], "off_topic": False},
    "study_guide": {
        "title": "Energy in plants",
        "concepts": [{"term": "Chlorophyll", "explanation": "The pigment that absorbs light.", "source": 2}],
        "questions": [{"question": "What absorbs light?", "answer": "Chlorophyll.", "source": 2}],
        "essay_prompts": ["Relate photosynthesis to respiration."],
        "glossary": [{"term": "Mitochondrion", "definition": "The powerhouse of the cell.", "source": 3}],
    },
    "faq": {"title": "FAQ", "items": [{"question": "What does chlorophyll do?", "answer": "It absorbs light.",
                                       "source": 2}]},
    "mind_map": {"title": "Plants", "branches": [{"label": "Photosynthesis", "children": ["light", "chlorophyll"],
                                                  "source": 1}]},
    "translate": {"text": "What is chlorophyll?"},
}
