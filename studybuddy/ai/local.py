"""The offline provider: no network, no keys, deterministic. Built from the material itself.

Summaries are extractive (ranked sentences in their original order), flashcards and glossary come
from definitional sentences and key terms, quiz distractors are other terms of the same material,
open answers are graded by keyword and fuzzy matching (always labelled approximate), and chat and
homework answers are composed from the best-matching passages with their citations.
"""

from __future__ import annotations

import logging
import math
import re
import time
import zlib
from collections import Counter
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from ..study import textkit as tk
from ..study.localtext import LOCAL_TEXT
from .base import ProviderBadOutput, SourceChunk, ToolRequest, ToolResult
from .schemas import SchemaError, validate

log = logging.getLogger(__name__)

THIN_MATERIAL = "too little usable text in the material"
# Summary length: a share of the material's words, kept between a floor and a ceiling.
LENGTH_WORDS = {"short": (0.05, 60, 150), "medium": (0.12, 150, 400), "long": (0.25, 300, 1000)}


def summary_budget(length: str, material_words: int) -> int:
    """How many words of the material a summary of this length keeps."""
    share, floor, ceiling = LENGTH_WORDS.get(length, LENGTH_WORDS["medium"])
    return int(min(ceiling, max(floor, share * material_words)))


@dataclass(frozen=True)
class _Sentence:
    order: int
    source: int
    text: str
    keys: frozenset[str]
    word_count: int
    first: bool
    content: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Passage:
    """One passage analysed once: its sentences (text, words, keys) and content-word counts."""

    # (text, its words joined in comparison form, word count, keys, content words)
    sentences: tuple[tuple[str, str, int, frozenset[str], frozenset[str]], ...]
    counts: dict[str, int]


@lru_cache(maxsize=512)  # about 40 KB each
def _passage(text: str) -> _Passage:
    # A course's passages come back again and again (chat follows retrieval), so the analysis of
    # each is kept, as the retrieval index keeps its own.
    sentences = []
    meaningful: list[str] = []
    for sentence in tk.split_sentences(text):
        found = tuple(tk.words(sentence))
        content = [w for w in found if tk.carries_meaning(w)]
        meaningful += content
        sentences.append((sentence, " ".join(found), len(found), frozenset().union(*map(tk.word_forms, content)),
                          frozenset(content)))
    counts = Counter(meaningful)
    return _Passage(tuple(sentences), dict(counts))


@lru_cache(maxsize=65536)
def _definition(sentence: str) -> tk.Definition | None:
    return tk.find_definition(sentence)


@lru_cache(maxsize=4096)  # strings only: a few KB each
def _sentences(text: str) -> tuple[tuple[str, str], ...]:
    """A passage's sentences, each with its comparison form."""
    return tuple((sentence, tk.normalize(sentence)) for sentence in tk.split_sentences(text))


def _question_pattern(query: AbstractSet[str]) -> re.Pattern[str]:
    """Finds the query's key words in comparison-form text: whole words, after up to two Hebrew
    prefix letters (ו, ה, ב, ל, מ, ש, כ), or with an English plural s."""
    alternatives = "|".join(re.escape(k) for k in sorted(query, key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])[{tk.HEBREW_PREFIXES}]{{0,2}}({alternatives})s?(?![^\W_])")


def rank_for_question(sources: list[SourceChunk], query: AbstractSet[str]) -> list[tuple[float, _Sentence]]:
    """The sentences that hold the question's key words, best first. Only those sentences are
    looked at closely, which keeps an answer close to the cost of retrieval itself."""
    if not query:
        return []
    pattern = _question_pattern(query)
    found: list[tuple[_Sentence, list[str]]] = []
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
            found.append((_Sentence(len(found), source.number, text, frozenset(matches), len(norm.split()), i == 0),
                          matches))
        passages_with.update(in_passage)
    count = max(len(sources), 1)
    weight = {k: (1 + math.log(n)) * math.log(1 + count / passages_with[k]) for k, n in term_count.items()}
    scored = [(sum(1.0 + weight[k] for k in set(matches)) / (1.0 + 0.01 * sentence.word_count), sentence)
              for sentence, matches in found]
    return sorted(scored, key=lambda p: (-p[0], p[1].order))


def forget_passages() -> None:
    """Drop the kept passage analyses (benchmarks measure the cold path with it)."""
    _passage.cache_clear()
    _definition.cache_clear()
    _sentences.cache_clear()


class _Material:
    """The request's passages split into unique sentences, with term weights and definitions."""

    def __init__(self, sources: list[SourceChunk]) -> None:
        self.sources = sources
        self.sentences: list[_Sentence] = []
        seen: set[str] = set()
        tf: Counter[str] = Counter()
        df: Counter[str] = Counter()
        for source in sources:
            passage = _passage(source.text)
            tf.update(passage.counts)
            df.update(passage.counts.keys())
            for i, (text, norm, word_count, keys, content) in enumerate(passage.sentences):
                if not norm or norm in seen:
                    continue
                seen.add(norm)
                self.sentences.append(
                    _Sentence(len(self.sentences), source.number, text, keys, word_count, i == 0, content)
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
    def definitions(self) -> list[tuple[tk.Definition, _Sentence]]:
        """Definitional sentences, one per term, the most characteristic terms first."""
        found: list[tuple[tk.Definition, _Sentence]] = []
        terms: set[str] = set()
        for sentence in self.sentences:
            definition = _definition(sentence.text)
            if definition and tk.normalize(definition.term) not in terms:
                terms.add(tk.normalize(definition.term))
                found.append((definition, sentence))
        found.sort(key=lambda d: (-self._term_score(d[0].term), d[1].order))
        return found

    @cached_property
    def defined(self) -> frozenset[int]:
        """The sentences (by order) that define something."""
        return frozenset(s.order for s in self.sentences if _definition(s.text))

    @cached_property
    def terms(self) -> list[str]:
        return tk.key_terms([s.text for s in self.sources], limit=80)

    def _term_score(self, term: str) -> float:
        found = tk.content_words(term)
        return sum(self.weights.get(w, 0.0) for w in found) / max(len(found), 1) if found else 0.0

    def importance(self, sentence: _Sentence) -> float:
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

    def relevance(self, sentence: _Sentence, query: AbstractSet[str], weights: dict[str, float]) -> float:
        """How well a sentence answers a question whose keys (with their weights) are `query`."""
        matched = sentence.keys & query
        if not matched:
            return 0.0
        return sum(1.0 + weights[k] for k in matched) / (1.0 + 0.01 * sentence.word_count)

    def ranked_for(self, query: AbstractSet[str]) -> list[tuple[float, _Sentence]]:
        weights = self.key_weights(query)
        scored = [(self.relevance(s, query, weights), s) for s in self.sentences]
        return sorted((p for p in scored if p[0] > 0), key=lambda p: (-p[0], p[1].order))


def _pick(seed: str, options: list[str]) -> str:
    return options[zlib.crc32(seed.encode("utf-8")) % len(options)]


def _cite(sentence: _Sentence) -> str:
    return f"{sentence.text.rstrip()} [{sentence.source}]"


def _lang(request: ToolRequest) -> dict[str, Any]:
    return LOCAL_TEXT["en" if request.language == "en" else "he"]


def _count(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(params.get(name, default))
    except (TypeError, ValueError):
        value = default
    return max(low, min(high, value))


class LocalProvider:
    """Offline, extractive study tools for Hebrew and English material."""

    name = "local"
    model = "extractive-1"

    def run(self, request: ToolRequest) -> ToolResult:
        builders: dict[str, Callable[[ToolRequest], dict[str, Any]]] = {
            "summary": self._summary,
            "flashcards": self._flashcards,
            "quiz": self._quiz,
            "quiz_grade": self._quiz_grade,
            "glossary": self._glossary,
            "homework": self._homework,
            "chat": self._chat,
        }
        builder = builders.get(request.tool)
        if builder is None:
            raise ProviderBadOutput(f"local provider has no tool {request.tool!r}", provider=self.name)
        started = time.perf_counter()
        try:
            data = validate(request.tool, builder(request), request)
        except SchemaError as exc:
            # Only happens when the material is too thin to build anything from (no cards, no terms).
            raise ProviderBadOutput(f"{THIN_MATERIAL}: {exc}", provider=self.name) from exc
        latency = int((time.perf_counter() - started) * 1000)
        return ToolResult(data=data, provider=self.name, model=self.model, latency_ms=latency)

    def probe(self) -> None:
        """Nothing to reach: the local provider is always available."""

    # summary ---------------------------------------------------------------------------------
    def _summary(self, request: ToolRequest) -> dict[str, Any]:
        text = _lang(request)
        material = _Material(request.sources)
        length = request.params.get("length", "medium")
        budget = summary_budget(length, sum(s.word_count for s in material.sentences))
        style = request.params.get("style", "bullets")
        ranked = sorted(material.sentences, key=lambda s: (-material.importance(s), s.order))
        chosen: list[_Sentence] = []
        used = 0
        for sentence in ranked:
            if used + sentence.word_count > budget:
                continue
            if any(_overlap(sentence.keys, c.keys) > 0.6 for c in chosen):
                continue
            chosen.append(sentence)
            used += sentence.word_count
            if used >= budget * 0.9:
                break
        chosen.sort(key=lambda s: s.order)
        names = {s.document_name for s in request.sources}
        title = text["summary_title"].format(name=next(iter(names))) if len(names) == 1 else text["course_summary"]
        if style == "prose":
            markdown = _prose(chosen, request.sources)
        elif style == "exam":
            markdown = self._exam(chosen, material, text, {"short": 3, "medium": 6}.get(length, 10))
        else:
            markdown = "\n".join(f"- {_cite(s)}" for s in chosen)
        if not chosen:
            markdown = text["nothing_found"]
        return {"title": title, "markdown": markdown, "citations": sorted({s.source for s in chosen})}

    def _exam(self, chosen: list[_Sentence], material: _Material, text: dict[str, Any], terms: int) -> str:
        lines = [f"### {text['key_points']}", *(f"- {_cite(s)}" for s in chosen)]
        definitions = material.definitions[:terms]
        if definitions:
            lines += ["", f"### {text['key_terms']}"]
            lines += [f"- **{d.term}** — {d.definition} [{s.source}]" for d, s in definitions]
            lines += ["", f"### {text['check_yourself']}"]
            lines += [f"- {text['what_is'].format(term=d.term)}" for d, _ in definitions[:4]]
        return "\n".join(lines)

    # flashcards ------------------------------------------------------------------------------
    def _flashcards(self, request: ToolRequest) -> dict[str, Any]:
        text = _lang(request)
        material = _Material(request.sources)
        count = _count(request.params, "count", 10, 1, 50)
        cards: list[dict[str, Any]] = []
        for definition, sentence in material.definitions[:count]:
            cards.append({"front": text["define"].format(term=definition.term), "back": definition.definition,
                          "source": sentence.source})
        for sentence, token in self._cloze_sentences(material, count - len(cards)):
            front = text["fill_blank"].format(sentence=_blank(sentence.text, token))
            cards.append({"front": front, "back": token, "source": sentence.source})
        return {"cards": cards}

    def _cloze_sentences(self, material: _Material, wanted: int) -> list[tuple[_Sentence, str]]:
        """Important sentences, each with the key term (as spelled there) to hide in it."""
        if wanted <= 0:
            return []
        defined = {s.order for _, s in material.definitions}
        out: list[tuple[_Sentence, str]] = []
        uses: dict[str, int] = {}
        ranked = sorted(material.sentences, key=lambda s: (-material.importance(s), s.order))
        for sentence in ranked:
            if sentence.order in defined or sentence.word_count < 6 or sentence.word_count > 45:
                continue
            token = _key_token(sentence.text, material)
            if not token or uses.get(tk.normalize(token), 0) >= 2:
                continue
            uses[tk.normalize(token)] = uses.get(tk.normalize(token), 0) + 1
            out.append((sentence, token))
            if len(out) >= wanted:
                break
        return out

    # quiz ------------------------------------------------------------------------------------
    def _quiz(self, request: ToolRequest) -> dict[str, Any]:
        text = _lang(request)
        material = _Material(request.sources)
        count = _count(request.params, "count", 5, 1, 25)
        kind = "open" if request.params.get("kind") == "open" else "mc"
        questions: list[dict[str, Any]] = []
        all_terms = [d.term for d, _ in material.definitions] + material.terms
        all_defs = [d.definition for d, _ in material.definitions]
        for i, (definition, sentence) in enumerate(material.definitions[:count]):
            explanation = f"{definition.term}: {definition.definition} [{sentence.source}]"
            if kind == "open":
                questions.append(_question("open", text["explain"].format(term=definition.term), [],
                                           definition.definition, explanation, sentence.source))
                continue
            if i % 2 == 0 or len(all_defs) < 2:
                stem = text["which_term"].format(definition=definition.definition)
                options = _options(definition.term, all_terms, stem)
                answer = definition.term
            else:
                stem = text["what_is"].format(term=definition.term)
                options = _options(definition.definition, all_defs, stem)
                answer = definition.definition
            if len(options) >= 2:
                questions.append(_question("mc", stem, options, answer, explanation, sentence.source))
        for sentence, token in self._cloze_sentences(material, count - len(questions)):
            explanation = _cite(sentence)
            if kind == "open":
                stem = text["what_about"].format(term=token)
                questions.append(_question("open", stem, [], sentence.text.rstrip(". "), explanation,
                                           sentence.source))
                continue
            stem = text["fill_blank"].format(sentence=_blank(sentence.text, token))
            options = _options(token, material.terms, sentence.text)
            if len(options) >= 2:
                questions.append(_question("mc", stem, options, token, explanation, sentence.source))
        return {"questions": questions[:count]}

    # quiz grading ----------------------------------------------------------------------------
    def _quiz_grade(self, request: ToolRequest) -> dict[str, Any]:
        text = _lang(request)
        expected = str(request.params.get("expected", ""))
        answer = str(request.params.get("answer", ""))
        score, missing = grade_open_answer(expected, answer)
        parts = [text["grade_cover"].format(percent=round(score * 100))]
        if not answer.strip():
            parts = [text["grade_empty"]]
        elif missing:
            parts.append(text["grade_missing"].format(words=", ".join(missing[:6])))
        else:
            parts.append(text["grade_good"])
        parts.append(text["grade_approx"])
        return {"score": score, "feedback": " ".join(parts), "approximate": True}

    # glossary --------------------------------------------------------------------------------
    def _glossary(self, request: ToolRequest) -> dict[str, Any]:
        material = _Material(request.sources)
        count = _count(request.params, "count", 30, 1, 100)
        terms: list[dict[str, Any]] = [{"term": d.term, "definition": d.definition, "source": s.source}
                                       for d, s in material.definitions[:count]]
        known = {tk.normalize(t["term"]) for t in terms}
        defined_words = {w for t in terms for w in tk.keys(t["term"])}
        for term in material.terms:
            if len(terms) >= count:
                break
            forms = tk.word_forms(tk.normalize(term))
            if tk.normalize(term) in known or forms & defined_words:
                continue
            best = material.ranked_for(forms)
            if len(best) < 2:
                continue  # a word met once is rarely a term worth a glossary entry
            sentence = best[0][1]
            known.add(tk.normalize(term))
            defined_words |= forms
            terms.append({"term": term, "definition": sentence.text.rstrip(". "), "source": sentence.source})
        return {"terms": terms}

    # homework --------------------------------------------------------------------------------
    def _homework(self, request: ToolRequest) -> dict[str, Any]:
        text = _lang(request)
        problem = str(request.params.get("problem", ""))
        material = _Material(request.sources)
        query = tk.keys(problem)
        ranked = [s for score, s in material.ranked_for(query)[:4]]
        keywords = [w for w in dict.fromkeys(tk.content_words(problem))][:6]
        steps = [text["hw_read"].format(words=", ".join(keywords) or "—")]
        cited = {s.source for s in ranked[:3]}
        for definition, sentence in material.definitions:
            if sentence in ranked[:3] or (tk.keys(definition.term) & query):
                steps.append(text["hw_define"].format(term=definition.term, definition=definition.definition,
                                                      n=sentence.source))
                cited.add(sentence.source)
                break
        steps += [text["hw_recall"].format(sentence=_cite(s)) for s in ranked[:3]]
        steps += [text["hw_apply"], text["hw_check"]]
        intro = text["hw_intro"] if ranked else text["hw_not_found"]
        body = "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
        return {"markdown": f"{intro}\n\n{body}", "steps": steps, "citations": sorted(cited)}

    # chat ------------------------------------------------------------------------------------
    def _chat(self, request: ToolRequest) -> dict[str, Any]:
        text = _lang(request)
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
            return {"markdown": _pick(question, text["greetings"]), "citations": [], "off_topic": False}
        ranked = rank_for_question(request.sources, query)
        if not ranked:
            material = _Material(request.sources)
            named = [d.term for d, _ in material.definitions[:3]]
            topics = ", ".join((named + (material.terms[:3] if len(named) < 3 else []))[:3])
            refusal = text["off_topic"] + (" " + text["try_topics"].format(topics=topics) if topics else "")
            return {"markdown": refusal, "citations": [], "off_topic": True}
        best = ranked[0][0]
        picked = [s for score, s in ranked if score >= best * 0.5][: 2 if simple else 3]
        if simple:
            picked.sort(key=lambda s: s.word_count)
            picked = picked[:2]
        lines = [_pick(question, text["openers_simple"] if simple else text["openers"]), ""]
        lines += [f"- {_cite(s)}" for s in picked]
        definition = None
        if simple:
            defined = (_definition(s.text) for _, s in ranked)
            definition = next((d for d in defined if d and tk.keys(d.term) & query), None)
        if definition:
            lines += ["", text["in_short"].format(term=definition.term, definition=definition.definition)]
        lines += ["", _pick(question + "!", text["closers"])]
        return {"markdown": "\n".join(lines), "citations": sorted({s.source for s in picked}), "off_topic": False}


def grade_open_answer(expected: str, answer: str) -> tuple[float, list[str]]:
    """Approximate grade of a free answer against the expected one: (score 0..1, missing key words)."""
    if not answer.strip():
        return 0.0, []
    expected_words = list(dict.fromkeys(tk.content_words(expected)))
    answer_words = tk.content_words(answer)
    answer_keys = tk.keys(answer)
    missing: list[str] = []
    credit = 0.0
    for word in expected_words:
        if tk.word_forms(word) & answer_keys:
            credit += 1.0
            continue
        if any(tk.similarity(word, other) >= 0.8 for other in answer_words):
            credit += 0.75
            continue
        missing.append(word)
    coverage = credit / len(expected_words) if expected_words else 0.0
    overall = tk.similarity(expected, answer)
    score = 0.8 * coverage + 0.2 * overall if expected_words else overall
    return round(max(0.0, min(1.0, score)), 2), missing


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _prose(chosen: list[_Sentence], sources: list[SourceChunk]) -> str:
    names = {s.number: s.document_name for s in sources}
    paragraphs: list[list[str]] = []
    last = None
    for sentence in chosen:
        name = names.get(sentence.source)
        if name != last or len(paragraphs[-1]) >= 4:
            paragraphs.append([])
            last = name
        paragraphs[-1].append(_cite(sentence))
    return "\n\n".join(" ".join(p) for p in paragraphs)


def _key_token(sentence: str, material: _Material) -> str:
    """The most characteristic word of a sentence, spelled as in the sentence (no prefix letters)."""
    best, best_weight = "", 0.0
    for raw in tk.raw_words(sentence):
        word = tk.normalize(raw)
        if len(word) < 4 or tk.is_stopword(word) or word.isdigit():
            continue
        weight = material.weights.get(word, 0.0)
        if weight > best_weight:
            best, best_weight = raw, weight
    return best


def _blank(sentence: str, token: str) -> str:
    return sentence.replace(token, "_____", 1)


def _options(answer: str, pool: list[str], stem: str) -> list[str]:
    """The answer and up to three distractors from the same material, in a stable shuffled order."""
    taken = {tk.normalize(answer)}
    stem_norm = " ".join(tk.words(stem))
    distractors: list[str] = []
    for candidate in pool:
        norm = tk.normalize(candidate)
        if norm in taken or not norm.strip() or (len(norm) < 40 and tk.contains_phrase(stem_norm, norm)):
            continue
        if any(tk.similarity(candidate, other) > 0.85 for other in [answer, *distractors]):
            continue
        taken.add(norm)
        distractors.append(candidate)
        if len(distractors) == 3:
            break
    options = [answer, *distractors]
    shift = zlib.crc32((stem + answer).encode("utf-8")) % len(options)
    return options[shift:] + options[:shift]


def _question(kind: str, stem: str, options: list[str], answer: str, explanation: str, source: int
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

