"""Schema validation of model answers, including citations that must point at given sources."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from studybuddy.ai.base import TOOLS, ToolRequest
from studybuddy.ai.schemas import SCHEMAS, SchemaError, schema_for, validate
from tests.ai.conftest import VALID, request


def mutated(tool: str, change: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID[tool])
    change(data)
    return data


def test_a_schema_per_tool_in_the_strict_subset() -> None:
    assert set(SCHEMAS) == set(TOOLS)

    def walk(schema: dict[str, Any]) -> None:
        if schema["type"] == "object":
            assert schema["additionalProperties"] is False
            assert schema["required"] == list(schema["properties"])
            for inner in schema["properties"].values():
                walk(inner)
        elif schema["type"] == "array":
            walk(schema["items"])

    for schema in SCHEMAS.values():
        walk(schema)


def test_schema_for_is_a_copy() -> None:
    schema_for("chat")["properties"].clear()
    assert SCHEMAS["chat"]["properties"]


@pytest.mark.parametrize("tool", sorted(VALID))
def test_valid_answers_pass(tool: str) -> None:
    assert validate(tool, VALID[tool], request(tool)) == VALID[tool]


@pytest.mark.parametrize(
    ("tool", "change", "message"),
    [
        ("summary", lambda d: d.pop("title"), "missing title"),
        ("summary", lambda d: d.update(extra=1), "unexpected extra"),
        ("summary", lambda d: d.update(markdown="   "), "must not be empty"),
        ("summary", lambda d: d.update(citations=["1"]), "expected a number"),
        ("summary", lambda d: d.update(citations=[4]), "cites source 4"),
        ("summary", lambda d: d.update(citations=[0]), "at least 1"),
        ("flashcards", lambda d: d.update(cards=[]), "at least 1"),
        ("flashcards", lambda d: d["cards"][0].update(front=""), "must not be empty"),
        ("flashcards", lambda d: d["cards"][1].update(source=99), "cites source 99"),
        ("flashcards", lambda d: d["cards"][0].update(source=1.5), "whole number"),
        ("quiz", lambda d: d["questions"][0].update(correct=4), "index of one of the options"),
        ("quiz", lambda d: d["questions"][0].update(options=["only one"], correct=0), "2 to 6 options"),
        ("quiz", lambda d: d["questions"][0].update(options=["a"] * 7), "at most 6"),
        ("quiz", lambda d: d["questions"][0].update(options=["A", "a"], correct=0), "options repeat"),
        ("quiz", lambda d: d["questions"][0].update(type="tf"), "must be one of mc, open"),
        ("quiz", lambda d: d["questions"][0].update(type="open"), "open question has no options"),
        ("quiz", lambda d: d["questions"][0].update(source=5), "cites source 5"),
        ("quiz_grade", lambda d: d.update(score=1.5), "at most 1"),
        ("quiz_grade", lambda d: d.update(approximate="no"), "true or false"),
        ("glossary", lambda d: d["terms"][0].update(definition=""), "must not be empty"),
        ("homework", lambda d: d.update(steps="one"), "expected a list"),
        ("chat", lambda d: d.update(off_topic=0), "true or false"),
        ("chat", lambda d: d.update(citations=[1, 2, 3, 4]), "cites source 4"),
    ],
)
def test_invalid_answers_fail_with_a_clear_reason(tool: str, change: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        validate(tool, mutated(tool, change), request(tool))


def test_not_an_object() -> None:
    with pytest.raises(SchemaError, match="expected an object"):
        validate("chat", ["x"], request("chat"))


def test_citations_without_sources() -> None:
    req = ToolRequest("homework", [], params={"problem": "2+2"})
    assert validate("homework", {"markdown": "4", "steps": ["add"], "citations": []}, req)["citations"] == []
    with pytest.raises(SchemaError, match="no sources were given"):
        validate("homework", {"markdown": "4", "steps": ["add"], "citations": [1]}, req)


def test_open_questions() -> None:
    q = {
        "type": "open",
        "stem": "Why is chlorophyll green?",
        "options": [],
        "correct": -1,
        "answer": "It reflects green light.",
        "explanation": "See source 2.",
        "source": 2,
    }
    assert validate("quiz", {"questions": [q]}, request("quiz", kind="open"))["questions"][0] == q
    with pytest.raises(SchemaError, match="-1 for an open question"):
        validate("quiz", {"questions": [{**q, "correct": 0}]}, request("quiz"))
    with pytest.raises(SchemaError, match="asked for mc questions"):
        validate("quiz", {"questions": [q]}, request("quiz", kind="mc"))


def test_tidying() -> None:
    data = mutated("summary", lambda d: d.update(title="  Energy \n", citations=[2, 1, 2, 2]))
    out = validate("summary", data, request("summary"))
    assert out["title"] == "Energy" and out["citations"] == [2, 1]
    cards = {"cards": [{"front": f"q{i}", "back": "a", "source": 1} for i in range(5)]}
    assert len(validate("flashcards", cards, request("flashcards", count=3))["cards"]) == 3
    assert len(validate("flashcards", cards, request("flashcards"))["cards"]) == 5


def test_integral_floats_are_accepted_as_integers() -> None:
    data = mutated("flashcards", lambda d: d["cards"][0].update(source=2.0))
    assert validate("flashcards", data, request("flashcards"))["cards"][0]["source"] == 2


def test_unknown_tool() -> None:
    with pytest.raises(SchemaError):
        validate("poetry", {}, request("chat"))
