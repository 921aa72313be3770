"""A course's glossary: the terms of every glossary made for it, newest first, searchable."""

from __future__ import annotations

from dataclasses import dataclass

from ..store.base import Store
from ..ai.offline import text as tk
from .citations import Citation, resolve_citations


@dataclass(frozen=True)
class Term:
    term: str
    definition: str
    citation: Citation | None
    artifact_id: str


def course_terms(store: Store, course_id: str, owner_id: str) -> list[Term]:
    """Every distinct term (the newest definition wins), sorted alphabetically."""
    seen: dict[str, Term] = {}
    glossaries = sorted(store.artifacts.list_for_course(course_id, kind="glossary"),
                        key=lambda a: a.created_at, reverse=True)
    for artifact in glossaries:
        if artifact.owner_id != owner_id:
            continue
        citations = resolve_citations(store, artifact.content.get("sources", []), owner_id)
        for entry in artifact.content.get("terms", []):
            key = tk.normalize(str(entry.get("term", ""))).strip()
            if key and key not in seen:
                seen[key] = Term(str(entry["term"]), str(entry.get("definition", "")),
                                 citations.get(int(entry.get("source") or 0)), artifact.id)
    return sorted(seen.values(), key=lambda t: tk.normalize(t.term))


def search(terms: list[Term], query: str) -> list[Term]:
    """Terms whose name or definition holds the query (nikud, case and Hebrew prefixes ignored);
    matches on the term itself come first."""
    query_words = tk.words(query)
    if not query_words:
        return terms
    wanted = [tk.word_forms(w) for w in query_words]

    def matches(text: str) -> bool:
        found: set[str] = set()
        for word in tk.words(text):
            found |= tk.word_forms(word)
        joined = " ".join(tk.words(text))
        return all(forms & found or any(f in joined for f in forms if len(f) >= 3) for forms in wanted)

    on_term = [t for t in terms if matches(t.term)]
    on_definition = [t for t in terms if t not in on_term and matches(t.definition)]
    return on_term + on_definition
