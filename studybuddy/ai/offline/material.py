"""The passages of one request analysed once: sentences with their section, term weights and the
definitions the material states. Shared by every offline tool."""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from ..base import SourceChunk, ToolRequest
from . import text as tk
from .wording import LOCAL_TEXT


@dataclass(frozen=True)
class Sentence:
    order: int
    source: int
    text: str
    keys: frozenset[str]
    word_count: int
    first: bool
    content: frozenset[str] = frozenset()
    section: str = ""  # the heading the sentence stands under ("" before any heading)


@dataclass(frozen=True)
class Passage:
    """One passage analysed once: its sentences (text, words, keys) and content-word counts."""

    # (heading level or 0, text, its words joined in comparison form, word count, keys, content words)
    sentences: tuple[tuple[int, str, str, int, frozenset[str], frozenset[str]], ...]
    counts: dict[str, int]


@lru_cache(maxsize=512)  # about 40 KB each
def analyse(text: str) -> Passage:
    # A course's passages come back again and again (chat follows retrieval), so the analysis of
    # each is kept, as the retrieval index keeps its own.
    sentences = []
    meaningful: list[str] = []
    for level, sentence in tk.split_structured(text):
        found = tuple(tk.words(sentence))
        content = [w for w in found if tk.carries_meaning(w)]
        if not level:
            meaningful += content
        sentences.append((level, sentence, " ".join(found), len(found),
                          frozenset().union(*map(tk.word_forms, content)), frozenset(content)))
    return Passage(tuple(sentences), dict(Counter(meaningful)))


@lru_cache(maxsize=65536)
def definition_of(sentence: str) -> tk.Definition | None:
    return tk.find_definition(sentence)


@lru_cache(maxsize=4096)  # strings only: a few KB each
def _sentences(text: str) -> tuple[tuple[str, str], ...]:
    """A passage's sentences, each with its comparison form."""
    return tuple((sentence, tk.normalize(sentence)) for sentence in tk.split_sentences(text))


def forget_passages() -> None:
    """Drop the kept passage analyses (benchmarks measure the cold path with it)."""
    analyse.cache_clear()
    definition_of.cache_clear()
    _sentences.cache_clear()


def _question_pattern(query: AbstractSet[str]) -> re.Pattern[str]:
    """Finds the query's key words in comparison-form text: whole words, after up to two Hebrew
    prefix letters (ו, ה, ב, ל, מ, ש, כ), or with an English plural s."""
    alternatives = "|".join(re.escape(k) for k in sorted(query, key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])[{tk.HEBREW_PREFIXES}]{{0,2}}({alternatives})s?(?![^\W_])")


def rank_for_question(sources: list[SourceChunk], query: AbstractSet[str]) -> list[tuple[float, Sentence]]:
    """The sentences that hold the question's key words, best first. Only those sentences are
    looked at closely, which keeps an answer close to the cost of retrieval itself."""
    if not query:
        return []
    pattern = _question_pattern(query)
    found: list[tuple[Sentence, list[str]]] = []
    term_count: Counter[str] = Counter()
    passages_with: Counter[str] = Counter()
    seen: set[str] = set()
    for source in sources:
        in_passage: set[str] = set()
        for i, (text, norm) in enumerate(_sentences(source.text)):
            if norm in seen:
                continue
            seen.add(norm)
            matches = pattern.findall(norm)
            if not matches:
                continue
            term_count.update(matches)
            in_passage.update(matches)
            found.append((Sentence(len(found), source.number, text, frozenset(matches), len(norm.split()), i == 0),
                          matches))
        passages_with.update(in_passage)
    count = max(len(sources), 1)
    weight = {k: (1 + math.log(n)) * math.log(1 + count / passages_with[k]) for k, n in term_count.items()}
    scored = [(sum(1.0 + weight[k] for k in set(matches)) / (1.0 + 0.01 * sentence.word_count), sentence)
              for sentence, matches in found]
    return sorted(scored, key=lambda p: (-p[0], p[1].order))


class Material:
    """The request's passages split into unique sentences, with term weights and definitions."""

    def __init__(self, sources: list[SourceChunk]) -> None:
        self.sources = sources
        self.sentences: list[Sentence] = []
        self.headings: list[tuple[int, str, int]] = []  # (level, text, source) in reading order
        seen: set[str] = set()
        tf: Counter[str] = Counter()
        df: Counter[str] = Counter()
        section = ""
        for source in sources:
            passage = analyse(source.text)
            tf.update(passage.counts)
            df.update(passage.counts.keys())
            for i, (level, text, norm, word_count, keys, content) in enumerate(passage.sentences):
                if level:
                    section = text
                    if tk.normalize(text) not in {tk.normalize(h[1]) for h in self.headings}:
                        self.headings.append((level, text, source.number))
                    continue
                if not norm or norm in seen:
                    continue
                seen.add(norm)
                self.sentences.append(
                    Sentence(len(self.sentences), source.number, text, keys, word_count, i == 0, content, section)
                )
        count = len(sources)
        self.weights = {w: (1 + math.log(n)) * math.log(1 + count / df[w]) for w, n in tf.items()}

    def key_weights(self, query: AbstractSet[str]) -> dict[str, float]:
        """The weight of each query key: the heaviest word of the material that has it as a form
        (the word itself, its plural, or a Hebrew word with up to two prefix letters)."""
        out: dict[str, float] = {}
        for key in query:
            candidates = [key, key + "s"]
            if tk.is_hebrew(key):
                candidates += [a + key for a in tk.HEBREW_PREFIXES]
                candidates += [a + b + key for a in tk.HEBREW_PREFIXES for b in tk.HEBREW_PREFIXES]
            found = [self.weights[w] for w in candidates if w in self.weights and key in tk.word_forms(w)]
            out[key] = max(found, default=0.5)
        return out

    @cached_property
    def definitions(self) -> list[tuple[tk.Definition, Sentence]]:
        """Definitional sentences, one per term, the most characteristic terms first. A heading
        that names a term in both languages ("## עודף הצרכן (Consumer surplus)") defines it by
        the first sentence under it."""
        found: list[tuple[tk.Definition, Sentence]] = []
        terms: set[str] = set()
        heading_terms = self._heading_terms()
        for sentence in self.sentences:
            definition = definition_of(sentence.text)
            if definition is None and sentence.section in heading_terms:
                term, alt = heading_terms.pop(sentence.section)
                if sentence.word_count >= 4:
                    definition = tk.Definition(term, sentence.text.rstrip(". "), sentence.text, alt)
            if definition and tk.normalize(definition.term) not in terms:
                terms.add(tk.normalize(definition.term))
                found.append((definition, sentence))
        found.sort(key=lambda d: (-self._term_score(d[0].term), d[1].order))
        return found

    def _heading_terms(self) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for _, heading, _ in self.headings:
            pairs = tk.bilingual_pairs(heading)
            if len(pairs) == 1 and len(tk.words(heading)) <= 8:
                out[heading] = pairs[0]
        return out

    @cached_property
    def defined(self) -> frozenset[int]:
        """The sentences (by order) that define something."""
        return frozenset(s.order for _, s in self.definitions)

    @cached_property
    def terms(self) -> list[str]:
        return tk.key_terms([tk.strip_markup(s.text) for s in self.sources], limit=80)

    def _term_score(self, term: str) -> float:
        found = tk.content_words(term)
        return sum(self.weights.get(w, 0.0) for w in found) / max(len(found), 1) if found else 0.0

    def importance(self, sentence: Sentence) -> float:
        """How central a sentence is to the material (summary ranking)."""
        if not sentence.keys:
            return 0.0
        words = sentence.content
        if not words:
            return 0.0
        score = sum(self.weights.get(w, 0.0) for w in words) / (len(words) ** 0.5)
        if sentence.word_count < 6:
            score *= 0.4
        elif sentence.word_count > 60:
            score *= 0.6
        if sentence.order in self.defined:
            score *= 1.3
        if sentence.first:
            score *= 1.1
        return score

    def relevance(self, sentence: Sentence, query: AbstractSet[str], weights: dict[str, float]) -> float:
        """How well a sentence answers a question whose keys (with their weights) are `query`."""
        matched = sentence.keys & query
        if not matched:
            return 0.0
        return sum(1.0 + weights[k] for k in matched) / (1.0 + 0.01 * sentence.word_count)

    def ranked_for(self, query: AbstractSet[str]) -> list[tuple[float, Sentence]]:
        weights = self.key_weights(query)
        scored = [(self.relevance(s, query, weights), s) for s in self.sentences]
        return sorted((p for p in scored if p[0] > 0), key=lambda p: (-p[0], p[1].order))


def pick(seed: str, options: list[str]) -> str:
    return options[zlib.crc32(seed.encode("utf-8")) % len(options)]


def cite(sentence: Sentence) -> str:
    return f"{sentence.text.rstrip()} [{sentence.source}]"


def wording(request: ToolRequest) -> dict[str, Any]:
    return LOCAL_TEXT["en" if request.language == "en" else "he"]


def count_param(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(params.get(name, default))
    except (TypeError, ValueError):
        value = default
    return max(low, min(high, value))


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def term_label(definition: tk.Definition) -> str:
    """The term as a student reads it: "עודף הצרכן (Consumer surplus)" when both are known."""
    return f"{definition.term} ({definition.alt})" if definition.alt else definition.term
