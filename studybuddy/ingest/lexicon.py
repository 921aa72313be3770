"""A course's bilingual lexicon, mined from its own material: Hebrew notes name their terms in
English in brackets ("עודף הצרכן (Consumer surplus)"), so a question in one language can be
searched in the other without any network."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..ai.offline.text import bilingual_pairs
from .hebrew import search_form, search_tokens, token_terms


@dataclass(frozen=True)
class Entry:
    hebrew: tuple[str, ...]  # the index terms of the Hebrew side, word by word (first form of each)
    english: tuple[str, ...]


class Lexicon:
    def __init__(self, texts: Iterable[str]) -> None:
        seen: dict[tuple[tuple[str, ...], tuple[str, ...]], None] = {}
        for text in texts:
            for hebrew, english in bilingual_pairs(text):
                he = tuple(_word_terms(hebrew))
                en = tuple(_word_terms(english))
                if he and en:
                    seen.setdefault((he, en), None)
        self.entries = [Entry(he, en) for he, en in seen]

    def __len__(self) -> int:
        return len(self.entries)

    def translate(self, query: str) -> list[str]:
        """The query's terms with every phrase the lexicon knows swapped for the other language's
        (an empty list when it knows none of them)."""
        words = _word_variants(query)
        if not words:
            return []
        known = set().union(*words)
        added: list[str] = []
        for entry in self.entries:
            for side, other in ((entry.english, entry.hebrew), (entry.hebrew, entry.english)):
                if all(term in known for term in side):
                    added += [t for t in other if t not in added]
        if not added:
            return []
        return list(dict.fromkeys([*added, *(w[0] for w in words)]))


def _word_terms(phrase: str) -> list[str]:
    """One term per word: the word itself for English, its prefix-less stem for Hebrew terms
    in a definite form ("הצרכן" -> "צרכן" is among the forms the query side produces)."""
    return [variants[-1] if len(variants) > 1 and len(variants[-1]) >= 3 else variants[0]
            for variants in _word_variants(phrase)]


def _word_variants(text: str) -> list[list[str]]:
    return [list(token_terms(token)) for token in search_tokens(search_form(text))]

