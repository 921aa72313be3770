"""Quizzes from the material. A multiple-choice question has exactly one right option; its
distractors are other items of the same kind (terms for a term, definitions for a definition,
key words of the same language for a blank), different for each question."""

from __future__ import annotations

import zlib
from typing import Any

from ..base import ToolRequest
from . import text as tk
from .cards import blank, cloze_sentences, distinct_definitions
from .material import Material, cite, count_param, wording


def quiz(request: ToolRequest) -> dict[str, Any]:
    text = wording(request)
    material = Material(request.sources)
    count = count_param(request.params, "count", 5, 1, 25)
    kind = "open" if request.params.get("kind") == "open" else "mc"
    questions: list[dict[str, Any]] = []
    definitions = distinct_definitions(material, max(count, 12))
    all_terms = [d.term for d, _ in definitions]
    all_defs = [d.definition for d, _ in definitions]
    for i, (definition, sentence) in enumerate(definitions[:count]):
        explanation = f"{definition.term}: {definition.definition} [{sentence.source}]"
        if kind == "open":
            questions.append(question("open", text["explain"].format(term=definition.term), [],
                                      definition.definition, explanation, sentence.source))
            continue
        if i % 2 == 0:
            stem = text["which_term"].format(definition=definition.definition)
            options = options_for(definition.term, same_language(definition.term, all_terms), stem)
            answer = definition.term
        else:
            stem = text["what_is"].format(term=definition.term)
            options = options_for(definition.definition, same_language(definition.definition, all_defs), stem)
            answer = definition.definition
        if len(options) >= 3:
            questions.append(question("mc", stem, options, answer, explanation, sentence.source))
    clozes = cloze_sentences(material, count - len(questions))
    tokens = [token for _, token in clozes] + material.terms
    for sentence, token in clozes:
        explanation = cite(sentence)
        if kind == "open":
            stem = text["what_about"].format(term=token)
            questions.append(question("open", stem, [], sentence.text.rstrip(". "), explanation, sentence.source))
            continue
        stem = text["fill_blank"].format(sentence=blank(sentence.text, token))
        options = options_for(token, same_language(token, tokens), sentence.text)
        if len(options) >= 3:
            questions.append(question("mc", stem, options, token, explanation, sentence.source))
    return {"questions": questions[:count]}


def same_language(answer: str, pool: list[str]) -> list[str]:
    """The items of the pool written in the answer's language: a term's distractors are never the
    same term in the other language (the material names terms in both)."""
    return [item for item in pool if tk.is_hebrew(item) == tk.is_hebrew(answer)]


def options_for(answer: str, pool: list[str], stem: str) -> list[str]:
    """The answer and up to three distractors from `pool`, none of them said in the stem nor
    near the answer or each other; a different selection for each question, in a stable order."""
    taken = {tk.normalize(answer)}
    stem_norm = " ".join(tk.words(stem))
    candidates = [c for c in dict.fromkeys(pool) if tk.normalize(c) not in taken]
    if candidates:  # start the walk at a place that depends on the question, so sets vary
        start = zlib.crc32(stem.encode("utf-8")) % len(candidates)
        candidates = candidates[start:] + candidates[:start]
    distractors: list[str] = []
    for candidate in candidates:
        norm = tk.normalize(candidate)
        if norm in taken or not norm.strip() or tk.contains_phrase(stem_norm, norm):
            continue
        if any(tk.similarity(candidate, other) > 0.8 for other in [answer, *distractors]):
            continue
        if tk.contains_phrase(candidate, answer) or tk.contains_phrase(answer, candidate):
            continue  # "cost" next to "marginal cost": both could be right
        taken.add(norm)
        distractors.append(candidate)
        if len(distractors) == 3:
            break
    options = [answer, *distractors]
    shift = zlib.crc32((stem + answer).encode("utf-8")) % len(options)
    return options[shift:] + options[:shift]


def question(kind: str, stem: str, options: list[str], answer: str, explanation: str, source: int
             ) -> dict[str, Any]:
    return {
        "type": kind,
        "stem": stem,
        "options": options,
        "correct": options.index(answer) if kind == "mc" else -1,
        "answer": answer,
        "explanation": explanation,
        "source": source,
    }
