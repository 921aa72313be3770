"""Extractive summaries that follow the material's structure: every heading gets its best
sentences (as far as the length allows), in the order of the material, each cited."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from ..base import SourceChunk, ToolRequest
from .material import Material, Sentence, cite, overlap, wording

# Summary length: a share of the material's words, kept between a floor and a ceiling.
LENGTH_WORDS = {"short": (0.05, 60, 150), "medium": (0.12, 150, 400), "long": (0.25, 300, 1000)}


def summary_budget(length: str, material_words: int) -> int:
    """How many words of the material a summary of this length keeps."""
    share, floor, ceiling = LENGTH_WORDS.get(length, LENGTH_WORDS["medium"])
    return int(min(ceiling, max(floor, share * material_words)))


def choose_sentences(material: Material, budget: int) -> list[Sentence]:
    """The most important sentences within `budget` words, each section's best one first."""
    ranked = sorted(material.sentences, key=lambda s: (-material.importance(s), s.order))
    firsts: dict[str, Sentence] = {}
    for sentence in ranked:
        if material.importance(sentence) > 0:
            firsts.setdefault(sentence.section, sentence)
    chosen: list[Sentence] = []
    used = 0
    for sentence in [*firsts.values(), *ranked]:
        if sentence in chosen or used + sentence.word_count > budget:
            continue
        if any(overlap(sentence.keys, c.keys) > 0.6 for c in chosen):
            continue
        chosen.append(sentence)
        used += sentence.word_count
        if used >= budget * 0.9:
            break
    return sorted(chosen, key=lambda s: s.order)


def by_section(chosen: list[Sentence]) -> list[tuple[str, list[Sentence]]]:
    groups: list[tuple[str, list[Sentence]]] = []
    for sentence in chosen:
        if not groups or groups[-1][0] != sentence.section:
            groups.append((sentence.section, []))
        groups[-1][1].append(sentence)
    return groups


def title_for(material: Material, sources: list[SourceChunk], text: dict[str, Any]) -> str:
    """The material's first top heading, else the document's name without its extension."""
    top = [h for level, h, _ in material.headings if level == 1]
    names = {s.document_name for s in sources}
    if top:
        return str(text["summary_title"].format(name=top[0]))
    if len(names) == 1:
        name = next(iter(names))
        return str(text["summary_title"].format(name=PurePath(name).stem or name))
    return str(text["course_summary"])


def summary(request: ToolRequest) -> dict[str, Any]:
    text = wording(request)
    material = Material(request.sources)
    length = str(request.params.get("length", "medium"))
    budget = summary_budget(length, sum(s.word_count for s in material.sentences))
    style = request.params.get("style", "bullets")
    chosen = choose_sentences(material, budget)
    if style == "prose":
        markdown = _prose(chosen, request.sources)
    elif style == "exam":
        markdown = _exam(chosen, material, text, {"short": 3, "medium": 6}.get(length, 10))
    else:
        markdown = bullets(chosen)
    if not chosen:
        markdown = text["nothing_found"]
    return {"title": title_for(material, request.sources, text), "markdown": markdown,
            "citations": sorted({s.source for s in chosen})}


def bullets(chosen: list[Sentence], level: int = 3) -> str:
    """Cited bullet points, under the material's own headings when it has them."""
    lines: list[str] = []
    for section, sentences in by_section(chosen):
        if section:
            lines += (["", f"{'#' * level} {section}"] if lines else [f"{'#' * level} {section}"])
        lines += [f"- {cite(s)}" for s in sentences]
    return "\n".join(lines)


def _exam(chosen: list[Sentence], material: Material, text: dict[str, Any], terms: int) -> str:
    lines = [f"### {text['key_points']}", *(f"- {cite(s)}" for s in chosen)]
    definitions = material.definitions[:terms]
    if definitions:
        lines += ["", f"### {text['key_terms']}"]
        lines += [f"- **{d.term}** — {d.definition} [{s.source}]" for d, s in definitions]
        lines += ["", f"### {text['check_yourself']}"]
        lines += [f"- {text['what_is'].format(term=d.term)}" for d, _ in definitions[:4]]
    return "\n".join(lines)


def _prose(chosen: list[Sentence], sources: list[SourceChunk]) -> str:
    names = {s.number: s.document_name for s in sources}
    paragraphs: list[str] = []
    for section, sentences in by_section(chosen):
        if section:
            paragraphs.append(f"### {section}")
        current: list[str] = []
        last = None
        for sentence in sentences:
            name = names.get(sentence.source)
            if current and (name != last or len(current) >= 4):
                paragraphs.append(" ".join(current))
                current = []
            last = name
            current.append(cite(sentence))
        if current:
            paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)
