"""Open answers graded offline: only words can be compared, so the grade is labelled approximate,
the feedback names missing ideas as the material spells them, and the model answer is shown for
the student to judge."""

from __future__ import annotations

from typing import Any

from ..base import ToolRequest
from . import text as tk
from .material import wording


def grade_open_answer(expected: str, answer: str) -> tuple[float, list[str]]:
    """Approximate grade of a free answer against the expected one: (score 0..1, missing key
    words as written in the expected answer)."""
    if not answer.strip():
        return 0.0, []
    spelled: dict[str, str] = {}
    for raw in tk.raw_words(expected):
        spelled.setdefault(tk.normalize(raw), raw)
    expected_words = list(dict.fromkeys(tk.content_words(expected)))
    answer_words = tk.content_words(answer)
    answer_keys = tk.keys(answer)
    missing: list[str] = []
    credit = 0.0
    for word in expected_words:
        if tk.word_forms(word) & answer_keys:
            credit += 1.0
            continue
        if any(tk.similarity(word, other) >= 0.8 for other in answer_words):
            credit += 0.75
            continue
        missing.append(spelled.get(word, word))
    coverage = credit / len(expected_words) if expected_words else 0.0
    overall = tk.similarity(expected, answer)
    score = 0.8 * coverage + 0.2 * overall if expected_words else overall
    return round(max(0.0, min(1.0, score)), 2), missing


def quiz_grade(request: ToolRequest) -> dict[str, Any]:
    text = wording(request)
    expected = str(request.params.get("expected", ""))
    answer = str(request.params.get("answer", ""))
    score, missing = grade_open_answer(expected, answer)
    if not answer.strip():
        parts = [text["grade_empty"]]
    else:
        parts = [text["grade_cover"].format(percent=round(score * 100))]
        if missing:
            parts.append(text["grade_missing"].format(words=", ".join(missing[:6])))
    parts += [text["grade_approx"], text["grade_compare"].format(expected=expected)]
    return {"score": score, "feedback": " ".join(parts), "approximate": True}
