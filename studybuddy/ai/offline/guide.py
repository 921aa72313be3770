"""The study guide, FAQ and mind map built offline from the material's headings and definitions."""

from __future__ import annotations

from typing import Any

from ..base import ToolRequest
from . import text as tk
from .cards import distinct_definitions
from .material import Material, Sentence, term_label, wording
from .summarise import choose_sentences, summary_budget, title_for

MAX_BRANCHES = 8
MAX_CHILDREN = 5


def _sections(material: Material) -> list[tuple[str, int]]:
    """The headings below the title (level 2 and 3, else level 1), with their source."""
    for levels in ((2,), (1, 3), (3,)):
        found = [(h, source) for level, h, source in material.headings if level in levels]
        if len(found) >= 2:
            return found
    return []


def _best_under(material: Material, section: str, limit: int) -> list[Sentence]:
    under = [s for s in material.sentences if s.section == section and s.word_count >= 5]
    return sorted(under, key=lambda s: (-material.importance(s), s.order))[:limit]


def study_guide(request: ToolRequest) -> dict[str, Any]:
    text = wording(request)
    material = Material(request.sources)
    definitions = distinct_definitions(material, 40)
    concepts = [{"term": term_label(d), "explanation": d.definition, "source": s.source}
                for d, s in definitions[:12]]
    questions = [{"question": text["what_is"].format(term=d.term), "answer": d.definition, "source": s.source}
                 for d, s in definitions[:8]]
    sections = [h for h, _ in _sections(material)]
    essays: list[str] = []
    for i, section in enumerate(sections[:4]):
        other = sections[(i + 1) % len(sections)] if len(sections) > 1 else ""
        essays.append(text["essay_relate"].format(a=section, b=other) if other else
                      text["essay_explain"].format(a=section))
    if not essays:
        essays = [text["essay_explain"].format(a=d.term) for d, _ in definitions[:3]]
    glossary = [{"term": term_label(d), "definition": d.definition, "source": s.source} for d, s in definitions]
    return {"title": text["guide_title"].format(name=_name(material, request, text)), "concepts": concepts,
            "questions": questions, "essay_prompts": essays, "glossary": glossary}


def faq(request: ToolRequest) -> dict[str, Any]:
    text = wording(request)
    material = Material(request.sources)
    items: list[dict[str, Any]] = []
    for section, _ in _sections(material)[:8]:
        best = _best_under(material, section, 2)
        if best:
            answer = " ".join(s.text.rstrip() for s in best)
            items.append({"question": text["faq_about"].format(topic=section), "answer": answer,
                          "source": best[0].source})
    for definition, sentence in distinct_definitions(material, 12):
        if len(items) >= 15:
            break
        items.append({"question": text["what_is"].format(term=term_label(definition)),
                      "answer": definition.definition, "source": sentence.source})
    if not items:
        chosen = choose_sentences(material, summary_budget("short", sum(s.word_count for s in material.sentences)))
        items = [{"question": text["faq_point"].format(n=i), "answer": s.text, "source": s.source}
                 for i, s in enumerate(chosen[:5], 1)]
    return {"title": text["faq_title"].format(name=_name(material, request, text)), "items": items}


def mind_map(request: ToolRequest) -> dict[str, Any]:
    text = wording(request)
    material = Material(request.sources)
    definitions = distinct_definitions(material, 60)
    branches: list[dict[str, Any]] = []
    sections = _sections(material)
    if sections:
        for section, source in sections[:MAX_BRANCHES]:
            children = [d.term for d, s in definitions if s.section == section][:MAX_CHILDREN]
            if not children:
                children = [_short(s.text) for s in _best_under(material, section, 2)]
            branches.append({"label": section, "children": children, "source": source})
    else:
        for definition, sentence in definitions[:MAX_BRANCHES]:
            branches.append({"label": definition.term, "children": [_short(definition.definition)],
                             "source": sentence.source})
    return {"title": _name(material, request, text), "branches": branches}


def _short(sentence: str, words: int = 8) -> str:
    found = sentence.split()
    return " ".join(found[:words]) + ("…" if len(found) > words else "")


def _name(material: Material, request: ToolRequest, text: dict[str, Any]) -> str:
    title = title_for(material, request.sources, {"summary_title": "{name}", "course_summary": text["the_course"]})
    return tk.strip_markup(title).strip()
