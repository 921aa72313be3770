"""Chat and homework answered from the passages retrieval found, with their citations. Offline
there is no solving: homework help shows the formulas and passages the material gives for the
problem and says plainly that the worked solution needs a language model."""

from __future__ import annotations

import re
from typing import Any

from ..base import SourceChunk, ToolRequest
from . import text as tk
from .material import Material, cite, definition_of, pick, rank_for_question, wording

# A line of the material that states a formula: a name, "=", and an expression.
_FORMULA = re.compile(r"[^\s=][^=\n]{0,60}\s=\s[^=\n]{2,120}")


def chat(request: ToolRequest) -> dict[str, Any]:
    text = wording(request)
    question = str(request.params.get("question", ""))
    simple = bool(request.params.get("simple", False))
    query = tk.keys(question)
    history = request.params.get("history") or []
    if len(query) < 2:
        for turn in reversed(history):
            if isinstance(turn, dict) and turn.get("role") == "user":
                query |= tk.keys(str(turn.get("text", "")))
                break
    if not query:
        return {"markdown": pick(question, text["greetings"]), "citations": [], "off_topic": False}
    ranked = rank_for_question(request.sources, query)
    if not ranked:  # asked in the other language: the material's own "term (English)" pairs bridge it
        ranked = rank_for_question(request.sources, translated_keys(request.sources, query))
    if not ranked:
        material = Material(request.sources)
        named = [d.term for d, _ in material.definitions[:3]]
        topics = ", ".join((named + (material.terms[:3] if len(named) < 3 else []))[:3])
        refusal = text["off_topic"] + (" " + text["try_topics"].format(topics=topics) if topics else "")
        return {"markdown": refusal, "citations": [], "off_topic": True}
    best = ranked[0][0]
    picked = [s for score, s in ranked if score >= best * 0.5][: 2 if simple else 3]
    if simple:
        picked.sort(key=lambda s: s.word_count)
        picked = picked[:2]
    lines = [pick(question, text["openers_simple"] if simple else text["openers"]), ""]
    lines += [f"- {cite(s)}" for s in picked]
    definition = None
    if simple:
        defined = (definition_of(s.text) for _, s in ranked)
        definition = next((d for d in defined if d and tk.keys(d.term) & query), None)
    if definition:
        lines += ["", text["in_short"].format(term=definition.term, definition=definition.definition)]
    lines += ["", pick(question + "!", text["closers"])]
    return {"markdown": "\n".join(lines), "citations": sorted({s.source for s in picked}), "off_topic": False}


def translated_keys(sources: list[SourceChunk], query: set[str]) -> set[str]:
    """The keys of the other-language names of the terms a question names, as the passages pair them."""
    out: set[str] = set()
    for source in sources:
        for hebrew, english in tk.bilingual_pairs(source.text):
            he_keys, en_keys = tk.keys(hebrew), tk.keys(english)
            if en_keys and en_keys <= query:
                out |= he_keys
            if he_keys and he_keys & query and len(he_keys & query) * 2 >= len(he_keys):
                out |= en_keys
    return out


def formulas(sources: list[SourceChunk]) -> list[tuple[str, int]]:
    """Formulas the passages state, each with its source number, in order, without repeats."""
    found: dict[str, int] = {}
    for source in sources:
        for line in source.text.splitlines():
            for match in _FORMULA.finditer(tk.strip_markup(line)):
                formula = match.group(0).strip(" .;")
                name = formula.split("=", 1)[0]
                if ":" in name:  # "Formula: E = ..." keeps only the formula
                    formula = formula[name.index(":") + 1:].strip()
                if re.search(r"[^\W\d_]", formula) and formula not in found:
                    found[formula] = source.number
    return list(found.items())


def homework(request: ToolRequest) -> dict[str, Any]:
    text = wording(request)
    problem = str(request.params.get("problem", ""))
    material = Material(request.sources)
    query = tk.keys(problem)
    ranked = [s for _, s in material.ranked_for(query)[:3]]
    steps: list[str] = []
    cited: set[int] = set()
    for formula, number in formulas(request.sources)[:3]:
        steps.append(text["hw_formula"].format(formula=formula, n=number))
        cited.add(number)
    for definition, sentence in material.definitions:
        if tk.keys(definition.term) & query:
            steps.append(text["hw_define"].format(term=definition.term, definition=definition.definition,
                                                  n=sentence.source))
            cited.add(sentence.source)
            break
    steps += [text["hw_recall"].format(sentence=cite(s)) for s in ranked]
    cited |= {s.source for s in ranked}
    if not steps:
        intro = text["hw_not_found"]
        spelled = [w for w in tk.raw_words(problem) if tk.carries_meaning(tk.normalize(w))]  # as the student wrote
        steps = [text["hw_read"].format(words=", ".join(dict.fromkeys(spelled)) or "—")]
    else:
        intro = text["hw_intro"]
    steps.append(text["hw_offline"])
    body = "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
    return {"markdown": f"{intro}\n\n{body}", "steps": steps, "citations": sorted(cited)}
