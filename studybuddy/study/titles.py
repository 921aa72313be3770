"""Titles of study results that tell them apart: the tool, its options and what it was made from.

"Short summary · bullet points — Lecture 3.pdf", "Quiz: 5 multiple-choice questions — Biology".
Titles are stored with the result, in the result's language (a student may rename them).
"""

from __future__ import annotations

from typing import Any

_LABELS: dict[str, dict[str, Any]] = {
    "he": {
        "summary": "סיכום {length} · {style}", "flashcards": "{count} כרטיסיות", "glossary": "מילון מונחים ({count})",
        "quiz_mc": "בוחן: {count} שאלות אמריקאיות", "quiz_open": "בוחן: {count} שאלות פתוחות",
        "study_guide": "מדריך למידה", "faq": "שאלות ותשובות", "mind_map": "מפת חשיבה",
        "length": {"short": "קצר", "medium": "בינוני", "long": "מפורט"},
        "style": {"bullets": "נקודות", "prose": "פרוזה", "exam": "הכנה למבחן"},
    },
    "en": {
        "summary": "{length} summary · {style}", "flashcards": "{count} flashcards", "glossary": "Glossary ({count})",
        "quiz_mc": "Quiz: {count} multiple-choice questions", "quiz_open": "Quiz: {count} open questions",
        "study_guide": "Study guide", "faq": "FAQ", "mind_map": "Mind map",
        "length": {"short": "Short", "medium": "Medium", "long": "Long"},
        "style": {"bullets": "bullet points", "prose": "prose", "exam": "exam preparation"},
    },
}


def short_text(text: str, limit: int = 80) -> str:
    """`text` on one line, cut at a word boundary with "…" when longer than `limit`."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if flat[limit - 1] != " ":  # the cut falls inside a word: end at the word before it
        space = cut.rfind(" ")
        if space >= limit // 2:
            cut = cut[:space]
    return cut.rstrip(" ,.;:-–—") + "…"


def result_title(tool: str, language: str, scope: str, params: dict[str, Any]) -> str:
    """"<tool and options> — <scope>"."""
    words = _LABELS.get(language, _LABELS["en"])
    if tool == "summary":
        label = words["summary"].format(length=words["length"].get(str(params.get("length")), ""),
                                        style=words["style"].get(str(params.get("style")), "")).strip()
        label = label[:1].upper() + label[1:]
    elif tool == "quiz":
        label = words["quiz_open" if params.get("kind") == "open" else "quiz_mc"].format(count=params.get("count", ""))
    elif tool in ("flashcards", "glossary"):
        label = words[tool].format(count=params.get("count", ""))
    else:
        label = str(words.get(tool, tool))
    scope = short_text(scope, 60)
    return f"{label} — {scope}" if scope else label
