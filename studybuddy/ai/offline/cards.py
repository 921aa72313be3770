"""Flashcards from the material: one per defined term, then cloze cards on key facts."""

from __future__ import annotations

from typing import Any

from ..base import ToolRequest
from . import text as tk
from .material import Material, Sentence, count_param, term_label, wording


def distinct_definitions(material: Material, limit: int = 100) -> list[tuple[tk.Definition, Sentence]]:
    """The material's first `limit` definitions without near-duplicates (the same term spelled
    twice, or two terms defined by the same words)."""
    out: list[tuple[tk.Definition, Sentence]] = []
    for definition, sentence in material.definitions:
        if len(out) >= limit:
            break
        if any(tk.similarity(definition.term, d.term) > 0.85 or tk.similarity(definition.definition, d.definition)
               > 0.85 for d, _ in out):
            continue
        out.append((definition, sentence))
    return out


def flashcards(request: ToolRequest) -> dict[str, Any]:
    text = wording(request)
    material = Material(request.sources)
    count = count_param(request.params, "count", 10, 1, 50)
    cards: list[dict[str, Any]] = []
    for definition, sentence in distinct_definitions(material, count):
        cards.append({"front": text["define"].format(term=term_label(definition)), "back": definition.definition,
                      "source": sentence.source})
    for sentence, token in cloze_sentences(material, count - len(cards)):
        front = text["fill_blank"].format(sentence=blank(sentence.text, token))
        cards.append({"front": front, "back": token, "source": sentence.source})
    return {"cards": cards}


def cloze_sentences(material: Material, wanted: int) -> list[tuple[Sentence, str]]:
    """Important sentences that are not definitions, each with the key term (as spelled there)
    to hide in it; a term the material defines is hidden first."""
    if wanted <= 0:
        return []
    out: list[tuple[Sentence, str]] = []
    uses: dict[str, int] = {}
    ranked = sorted(material.sentences, key=lambda s: (-material.importance(s), s.order))
    for sentence in ranked:
        if sentence.order in material.defined or sentence.word_count < 6 or sentence.word_count > 45:
            continue
        token = defined_term_in(sentence.text, material) or key_token(sentence.text, material)
        if not token or uses.get(tk.normalize(token), 0) >= 1:
            continue
        uses[tk.normalize(token)] = uses.get(tk.normalize(token), 0) + 1
        out.append((sentence, token))
        if len(out) >= wanted:
            break
    return out


def defined_term_in(sentence: str, material: Material) -> str:
    """A term the material defines, as written in the sentence (without prefix letters)."""
    norm = " ".join(tk.words(sentence))
    for definition, _ in material.definitions:
        term = " ".join(tk.words(definition.term))
        if term and len(term) >= 3 and f" {term} " in f" {norm} ":
            start = tk.normalize(sentence).find(tk.normalize(definition.term))
            if start >= 0:
                return sentence[start:start + len(definition.term)]
    return ""


def key_token(sentence: str, material: Material) -> str:
    """The most characteristic word of a sentence, spelled as in the sentence."""
    best, best_weight = "", 0.0
    for raw in tk.raw_words(sentence):
        word = tk.normalize(raw)
        if len(word) < 4 or not tk.carries_meaning(word) or word.isdigit():
            continue
        weight = material.weights.get(word, 0.0)
        if weight > best_weight:
            best, best_weight = raw, weight
    return best


def blank(sentence: str, token: str) -> str:
    return sentence.replace(token, "_____", 1)
