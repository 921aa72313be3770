"""A course's bilingual lexicon, mined from its own material: Hebrew notes name their terms in
English in brackets ("עודף הצרכן (Consumer surplus)"), so a question in one language can be
searched in the other without any network."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..ai.offline.text import bilingual_pairs
from .hebrew import search_form, search_tokens, token_terms

MIN_FORM = 3  # shorter prefix-less forms of a Hebrew word match too much


@dataclass(frozen=True)
class Entry:
    """One term in both languages: per word, the forms a question may hold, and the search terms."""

    hebrew: tuple[frozenset[str], ...]
    english: tuple[frozenset[str], ...]
    hebrew_terms: tuple[str, ...]
    english_terms: tuple[str, ...]


def _forms(phrase: str) -> tuple[tuple[frozenset[str], ...], tuple[str, ...]]:
    forms: list[frozenset[str]] = []
    terms: list[str] = []
    for token in search_tokens(search_form(phrase)):
        variants = token_terms(token)
        forms.append(frozenset([variants[0], *(v for v in variants[1:] if len(v) >= MIN_FORM)]))
        terms.append(variants[0])
        if len(variants) > 1 and variants[0].startswith("ה") and len(variants[1]) >= MIN_FORM:
            terms.append(variants[1])  # "הצרכן" is also searched as "צרכן"
    return tuple(forms), tuple(terms)


class Lexicon:
    def __init__(self, texts: Iterable[str]) -> None:
        entries: dict[tuple[tuple[str, ...], tuple[str, ...]], Entry] = {}
        # Overlapping chunks name the same pair twice, and a course names a term again and again
        # ("(DNA)"): a pair seen before adds nothing, and each phrase is read into forms once.
        seen: set[tuple[str, str]] = set()
        forms: dict[str, tuple[tuple[frozenset[str], ...], tuple[str, ...]]] = {}
        for text in texts:
            for pair in bilingual_pairs(text):
                if pair in seen:
                    continue
                seen.add(pair)
                hebrew, english = pair
                for phrase in pair:
                    if phrase not in forms:
                        forms[phrase] = _forms(phrase)
                (he_forms, he_terms), (en_forms, en_terms) = forms[hebrew], forms[english]
                if he_terms and en_terms:
                    entries.setdefault((he_terms, en_terms), Entry(he_forms, en_forms, he_terms, en_terms))
        self.entries = list(entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def translate(self, query: str) -> list[str]:
        """The other-language search terms of every phrase of the query the lexicon knows."""
        known: set[str] = set()
        for token in search_tokens(search_form(query)):
            known.update(token_terms(token))
        added: list[str] = []
        for entry in self.entries:
            for side, other in ((entry.english, entry.hebrew_terms), (entry.hebrew, entry.english_terms)):
                if side and all(forms & known for forms in side):
                    added += [t for t in other if t not in added]
        return added
