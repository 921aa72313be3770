"""The JSON shape of every tool's answer, and the check that a model's answer fits it.

``SCHEMAS`` is plain JSON Schema in the subset both OpenAI structured outputs (strict mode)
and Gemini's ``response_json_schema`` accept: every object lists all its properties as
required and forbids others. ``validate`` checks a parsed answer against it, then checks
what a schema cannot say: option indexes (and that the answer is the option marked correct),
that the arithmetic a homework answer states is right, and that every cited source number is
one of the sources given in the request.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from .arith import arithmetic_errors
from .base import TOOLS, ToolRequest


class SchemaError(ValueError):
    """The model's answer does not have the required shape; the message says where."""


def _obj(**properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _arr(items: dict[str, Any], **limits: int) -> dict[str, Any]:
    return {"type": "array", "items": items, **limits}


_STR: dict[str, Any] = {"type": "string"}
_INT: dict[str, Any] = {"type": "integer"}
_BOOL: dict[str, Any] = {"type": "boolean"}
_SOURCE: dict[str, Any] = {"type": "integer", "minimum": 1}
_CITATIONS: dict[str, Any] = _arr(_SOURCE)

SCHEMAS: dict[str, dict[str, Any]] = {
    "summary": _obj(title=_STR, markdown=_STR, citations=_CITATIONS),
    "flashcards": _obj(cards=_arr(_obj(front=_STR, back=_STR, source=_SOURCE), minItems=1)),
    "quiz": _obj(
        questions=_arr(
            _obj(
                type={"type": "string", "enum": ["mc", "open"]},
                stem=_STR,
                options=_arr(_STR, maxItems=6),
                correct={"type": "integer", "minimum": -1},
                answer=_STR,
                explanation=_STR,
                source=_SOURCE,
            ),
            minItems=1,
        )
    ),
    "quiz_grade": _obj(
        score={"type": "number", "minimum": 0, "maximum": 1},
        feedback=_STR,
        approximate=_BOOL,
    ),
    "glossary": _obj(terms=_arr(_obj(term=_STR, definition=_STR, source=_SOURCE), minItems=1)),
    "homework": _obj(markdown=_STR, steps=_arr(_STR), citations=_CITATIONS),
    "chat": _obj(markdown=_STR, citations=_CITATIONS, off_topic=_BOOL),
    "study_guide": _obj(
        title=_STR,
        concepts=_arr(_obj(term=_STR, explanation=_STR, source=_SOURCE), minItems=1),
        questions=_arr(_obj(question=_STR, answer=_STR, source=_SOURCE)),
        essay_prompts=_arr(_STR),
        glossary=_arr(_obj(term=_STR, definition=_STR, source=_SOURCE)),
    ),
    "faq": _obj(title=_STR, items=_arr(_obj(question=_STR, answer=_STR, source=_SOURCE), minItems=1)),
    "mind_map": _obj(
        title=_STR,
        branches=_arr(_obj(label=_STR, children=_arr(_STR, maxItems=8), source=_SOURCE), minItems=1, maxItems=12),
    ),
    "translate": _obj(text=_STR),
}

if set(SCHEMAS) != set(TOOLS):  # pragma: no cover - a guard against the two drifting apart
    raise RuntimeError("SCHEMAS and TOOLS disagree")

# Strings that must carry text (an empty flashcard front is useless to a student).
_NON_EMPTY: dict[str, tuple[str, ...]] = {
    "summary": ("markdown",),
    "flashcards": ("front", "back"),
    "quiz": ("stem", "answer"),
    "quiz_grade": ("feedback",),
    "glossary": ("term", "definition"),
    "homework": ("markdown",),
    "chat": ("markdown",),
    "study_guide": ("term", "explanation", "question", "answer", "definition"),
    "faq": ("question", "answer"),
    "mind_map": ("title", "label"),
    "translate": ("text",),
}

# The list each counted tool returns, and the request parameter that bounds it.
_COUNTED: dict[str, str] = {"flashcards": "cards", "quiz": "questions", "glossary": "terms"}


def schema_for(tool: str) -> dict[str, Any]:
    """A private copy of the tool's schema (SDKs are free to mutate what they are given)."""
    if tool not in SCHEMAS:
        raise KeyError(f"unknown tool {tool!r}")
    return copy.deepcopy(SCHEMAS[tool])


def _check(schema: dict[str, Any], value: Any, path: str) -> Any:
    """Check one value against the schema subset used above; return it with strings stripped."""
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            raise SchemaError(f"{path}: expected an object")
        props: dict[str, Any] = schema["properties"]
        missing = [k for k in schema.get("required", []) if k not in value]
        if missing:
            raise SchemaError(f"{path}: missing {', '.join(missing)}")
        extra = [k for k in value if k not in props]
        if extra and schema.get("additionalProperties") is False:
            raise SchemaError(f"{path}: unexpected {', '.join(sorted(extra))}")
        return {k: _check(props[k], value[k], f"{path}.{k}") for k in props if k in value}
    if kind == "array":
        if not isinstance(value, list):
            raise SchemaError(f"{path}: expected a list")
        if len(value) < schema.get("minItems", 0):
            raise SchemaError(f"{path}: needs at least {schema['minItems']} item(s)")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise SchemaError(f"{path}: at most {schema['maxItems']} item(s)")
        return [_check(schema["items"], v, f"{path}[{i}]") for i, v in enumerate(value)]
    if kind == "string":
        if not isinstance(value, str):
            raise SchemaError(f"{path}: expected a string")
        if "enum" in schema and value not in schema["enum"]:
            raise SchemaError(f"{path}: must be one of {', '.join(schema['enum'])}")
        return value.strip()
    if kind == "boolean":
        if not isinstance(value, bool):
            raise SchemaError(f"{path}: expected true or false")
        return value
    if kind in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SchemaError(f"{path}: expected a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise SchemaError(f"{path}: expected a finite number")
        if kind == "integer":
            if isinstance(value, float) and not value.is_integer():
                raise SchemaError(f"{path}: expected a whole number")
            value = int(value)
        if "minimum" in schema and value < schema["minimum"]:
            raise SchemaError(f"{path}: must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise SchemaError(f"{path}: must be at most {schema['maximum']}")
        return value
    raise SchemaError(f"{path}: unsupported schema type {kind!r}")  # pragma: no cover


def _non_empty(tool: str, value: Any, path: str) -> None:
    names = _NON_EMPTY.get(tool, ())
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in names and isinstance(inner, str) and not inner:
                raise SchemaError(f"{path}.{key}: must not be empty")
            _non_empty(tool, inner, f"{path}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            _non_empty(tool, inner, f"{path}[{i}]")


def _check_question(q: dict[str, Any], path: str) -> None:
    if q["type"] == "mc":
        if not 2 <= len(q["options"]) <= 6:
            raise SchemaError(f"{path}.options: a multiple-choice question needs 2 to 6 options")
        if any(not o for o in q["options"]):
            raise SchemaError(f"{path}.options: an option is empty")
        if len({o.casefold() for o in q["options"]}) != len(q["options"]):
            raise SchemaError(f"{path}.options: options repeat")
        if not 0 <= q["correct"] < len(q["options"]):
            raise SchemaError(f"{path}.correct: must be the index of one of the options")
        marked = q["options"][q["correct"]]
        if " ".join(marked.casefold().split()) != " ".join(q["answer"].casefold().split()):
            raise SchemaError(f"{path}.answer: says {q['answer']!r} but the option marked correct "
                              f"(index {q['correct']}) is {marked!r}; they must be the same")
    else:
        if q["options"]:
            raise SchemaError(f"{path}.options: an open question has no options")
        if q["correct"] != -1:
            raise SchemaError(f"{path}.correct: must be -1 for an open question")


def _cited(tool: str, data: dict[str, Any]) -> list[tuple[str, int]]:
    """Every (path, source number) the answer cites."""
    out: list[tuple[str, int]] = [(f"$.citations[{i}]", n) for i, n in enumerate(data.get("citations", []))]
    for key, value in data.items():
        if isinstance(value, list):
            out += [(f"$.{key}[{i}].source", entry["source"]) for i, entry in enumerate(value)
                    if isinstance(entry, dict) and "source" in entry]
    return out


def validate(tool: str, data: Any, request: ToolRequest) -> dict[str, Any]:
    """Check a model's parsed answer for `request`; return it tidied, or raise SchemaError.

    Tidying: strings are stripped, repeated citations are dropped, and a list longer than
    the requested count is cut to that count.
    """
    if tool not in SCHEMAS:
        raise SchemaError(f"unknown tool {tool!r}")
    checked: dict[str, Any] = _check(SCHEMAS[tool], data, "$")
    _non_empty(tool, checked, "$")
    if tool == "quiz":
        wanted = request.params.get("kind")
        for i, q in enumerate(checked["questions"]):
            _check_question(q, f"$.questions[{i}]")
            if wanted in ("mc", "open") and q["type"] != wanted:
                raise SchemaError(f"$.questions[{i}].type: the quiz asked for {wanted} questions")
    if tool == "homework":
        wrong = arithmetic_errors("\n".join([checked["markdown"], *checked["steps"]]))
        if wrong:
            raise SchemaError("$.markdown: the arithmetic is wrong in " + "; ".join(wrong[:5])
                              + "; recompute every step")
    known = {s.number for s in request.sources}
    for path, number in _cited(tool, checked):
        if number not in known:
            if known:
                raise SchemaError(
                    f"{path}: cites source {number}, but only sources {min(known)}..{max(known)} were given"
                )
            raise SchemaError(f"{path}: cites source {number}, but no sources were given")
    if "citations" in checked:
        checked["citations"] = list(dict.fromkeys(checked["citations"]))
    listed = _COUNTED.get(tool)
    count = request.params.get("count")
    if listed and isinstance(count, int) and not isinstance(count, bool) and count > 0:
        checked[listed] = checked[listed][:count]
    return checked
