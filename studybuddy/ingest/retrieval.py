"""Hybrid retrieval over a course's chunks: BM25 (the bm25s library) on Hebrew-aware terms,
fused by reciprocal rank with dense vectors from the configured embedding API.

Each chunk is indexed by the terms of its search text (nikud stripped, casefolded); a Hebrew
word also yields its forms without prefix letters (ו ה ב כ ל מ ש), and so does every query
word, so "ובספר" finds "הספר". A question is also searched in the other language: through the
course's own bilingual lexicon (ingest/lexicon.py) offline, and through a translation by the
model when one is configured (`extra_queries`). Only relevant passages come back: a keyword hit
must hold a share of the question's meaningful words (weighted by rarity), a dense hit must
pass `ai.embedding_min_similarity`; and no two passages repeat the same text (overlapping
neighbours are trimmed). The index of a course is built in memory on first use and rebuilt when
the course's chunks change (see `mark_course_changed`). It works the same over both stores.

bm25s was chosen over SQLite FTS5 (an in-memory FTS5 table fed the same terms) by measuring a
2,000-chunk course in bench/ingest.py: index builds took about as long, bm25s answered
queries faster (median about 1.3-1.7x, 0.3-0.5 ms), and it needs no second copy of the text
in a database of its own.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..ai.base import ProviderError
from ..ai.offline.text import carries_meaning, is_hebrew, normalize
from ..store.models import Chunk
from .bm25 import new_bm25
from .hebrew import search_form, search_tokens, token_terms
from .lexicon import Lexicon

if TYPE_CHECKING:
    from ..ai.embeddings import Embedder
    from ..store import Store

log = logging.getLogger(__name__)

MAX_K = 50
MAX_CACHED_COURSES = 64
CANDIDATES = 40
RRF_K = 60
KEYWORD_FLOOR = 0.3  # share of a question's meaningful words (by rarity) a keyword hit must hold
LEXICON_FLOOR = 0.6  # the same, for a question's terms translated through the course's lexicon
MIN_PASSAGE_CHARS = 20


def course_version_key(course_id: str) -> str:
    return f"chunks-version:{course_id}"


def mark_course_changed(store: Store, course_id: str) -> None:
    """Tell every process's retrieval cache that this course's chunks changed."""
    store.counters.incr(course_version_key(course_id))


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    document_name: str


def _groups(query: str) -> list[tuple[str, ...]]:
    """The meaningful words of a query, each as its index terms (numbers and stop words left out,
    unless the query has nothing else)."""
    words = [tuple(token_terms(token)) for token in search_tokens(search_form(query)) if not token.isdigit()]
    meaningful = [w for w in words if carries_meaning(normalize(w[0]))]
    return list(dict.fromkeys(meaningful or words))


class _TermIds(dict[str, list[int]]):
    """The term ids of each piece of search text between spaces, numbered as they are first met.

    A word never holds a space, so a text's words are the words of its pieces, in order.
    """

    def __init__(self) -> None:
        super().__init__()
        self.vocab: dict[str, int] = {}

    def __missing__(self, piece: str) -> list[int]:
        vocab = self.vocab
        terms = itertools.chain.from_iterable(map(token_terms, search_tokens(piece)))
        found = self[piece] = [vocab.setdefault(term, len(vocab)) for term in terms]
        return found


class _CourseIndex:
    """The BM25 index, bilingual lexicon and vectors of one course's chunks."""

    def __init__(self, chunks: list[Chunk], vectors: dict[str, bytes] | None = None):
        import bm25s
        import numpy as np

        self.chunks = chunks
        term_ids = _TermIds()
        # Words repeat a lot: each distinct piece of text between spaces is turned into term ids once.
        ids = [list(itertools.chain.from_iterable(map(term_ids.__getitem__, chunk.search_text.split())))
               for chunk in chunks]
        self.vocab = vocab = term_ids.vocab
        self.chunk_terms = [frozenset(found) for found in ids]
        # How many chunks hold each term, counted in one pass over every chunk's distinct terms.
        df = np.bincount(np.fromiter(itertools.chain.from_iterable(self.chunk_terms), dtype=np.intp),
                         minlength=len(vocab) or 1).astype(float)
        self.idf = np.log(1 + len(chunks) / np.maximum(df, 1))
        self.unknown_idf = math.log(1 + len(chunks))
        self.model = new_bm25()
        self.model.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
        self.document_ids = np.array([chunk.document_id for chunk in chunks], dtype=object)
        self.lexicon = Lexicon(chunk.text for chunk in chunks)
        self.matrix: Any = None
        if vectors:
            from ..ai.embeddings import from_blob

            rows = [from_blob(vectors[c.id]) if c.id in vectors else None for c in chunks]
            width = max((len(r) for r in rows if r is not None), default=0)
            self.matrix = np.zeros((len(chunks), width), dtype=np.float32)
            for i, row in enumerate(rows):
                if row is not None and len(row) == width:
                    self.matrix[i] = row
        self.lock = threading.Lock()

    @functools.cached_property
    def languages(self) -> frozenset[str]:
        """The languages of the chunks, worked out when first asked (only query translation asks)."""
        return frozenset("he" if is_hebrew(chunk.text) else "en" for chunk in self.chunks)

    def _share(self, i: int, groups: list[tuple[str, ...]]) -> float:
        """How much of the question's weight chunk i holds (0..1)."""
        total = held = 0.0
        for group in groups:
            term_ids = [self.vocab[t] for t in group if t in self.vocab]
            weight = max((float(self.idf[t]) for t in term_ids), default=self.unknown_idf)
            total += weight
            if any(t in self.chunk_terms[i] for t in term_ids):
                held += weight
        return held / total if total else 0.0

    def keyword(self, variants: list[tuple[list[tuple[str, ...]], float]], document_id: str | None
                ) -> list[tuple[int, float]]:
        """(chunk index, BM25 score) of the relevant keyword hits, best first. A hit must hold at
        least its floor of the weight of one of the query's variants (as asked, as translated)."""
        import numpy as np

        terms = list(dict.fromkeys(t for groups, _ in variants for group in groups for t in group if t in self.vocab))
        if not terms:
            return []
        with self.lock:
            scores = np.asarray(self.model.get_scores(terms), dtype=float)
        if document_id is not None:
            scores = np.where(self.document_ids == document_id, scores, 0.0)
        positive = np.flatnonzero(scores > 0)
        # Highest score first; ties keep document order, so results are stable.
        order = positive[np.lexsort((positive, -scores[positive]))][:CANDIDATES]
        return [(int(i), float(scores[i])) for i in order
                if any(groups and self._share(int(i), groups) >= floor for groups, floor in variants)]

    def dense(self, vector: Any, floor: float, document_id: str | None) -> list[tuple[int, float]]:
        """(chunk index, cosine similarity) of the chunks close enough to the query vector."""
        import numpy as np

        if self.matrix is None or vector is None or len(vector) != self.matrix.shape[1]:
            return []
        sims = self.matrix @ vector
        if document_id is not None:
            sims = np.where(self.document_ids == document_id, sims, -1.0)
        order = np.argsort(-sims, kind="stable")[:CANDIDATES]
        return [(int(i), float(sims[i])) for i in order if sims[i] >= floor]


def _fuse(*ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: each list adds 1 / (RRF_K + rank) to the chunks it holds."""
    fused: dict[int, float] = {}
    for hits in ranked:
        for rank, (i, _) in enumerate(hits, 1):
            fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused.items(), key=lambda p: (-p[1], p[0]))


def without_overlap(chunk: Chunk, kept: Sequence[Chunk]) -> Chunk | None:
    """The chunk less the text it shares with passages already kept (neighbouring windows of one
    page overlap); None when little or nothing new is left."""
    start, end = chunk.start, chunk.end
    if end <= start:
        return chunk  # no offsets known: nothing to compare
    for other in kept:
        if other.document_id != chunk.document_id or other.page != chunk.page or other.end <= other.start:
            continue
        if other.start <= start and end <= other.end:
            return None
        if other.start <= start < other.end:
            start = other.end
        elif start < other.start < end:
            end = other.start
    if (start, end) == (chunk.start, chunk.end):
        return chunk
    text = chunk.text[start - chunk.start:end - chunk.start].strip()
    if len(text) < MIN_PASSAGE_CHARS:
        return None
    return dataclasses.replace(chunk, text=text, start=start, end=end, search_text=search_form(text))


class Retrieval:
    """Search a course's (or one document's) chunks; the best `k` relevant hits first."""

    def __init__(self, store: Store, embedder: Embedder | None = None, min_similarity: float = 0.35,
                 use_lexicon: bool = True) -> None:
        self.store = store
        self.use_lexicon = use_lexicon  # off only to measure what the lexicon adds (bench/quality.py)
        self.embedder = embedder
        self.min_similarity = min_similarity
        self._cache: dict[str, tuple[Any, _CourseIndex | None]] = {}
        self._lock = threading.Lock()

    def _signature(self, course_id: str, names: dict[str, str]) -> Any:
        return (
            self.store.counters.get(course_version_key(course_id)),
            tuple(sorted(names)),
            self.store.chunks.count_for_course(course_id),
        )

    def _index(self, course_id: str, names: dict[str, str]) -> _CourseIndex | None:
        signature = self._signature(course_id, names)
        with self._lock:
            cached = self._cache.get(course_id)
            if cached is not None and cached[0] == signature:
                return cached[1]
        chunks = self.store.chunks.list_for_course(course_id)
        vectors = self.store.vectors.for_course(course_id, self.embedder.model) if self.embedder and chunks else None
        index = _CourseIndex(chunks, vectors) if chunks else None
        log.debug("indexed course %s: %d chunks, %d vectors", course_id, len(chunks), len(vectors or {}))
        with self._lock:
            if len(self._cache) >= MAX_CACHED_COURSES and course_id not in self._cache:
                self._cache.pop(next(iter(self._cache)))
            self._cache[course_id] = (signature, index)
        return index

    def _query_vector(self, query: str) -> Any:
        if self.embedder is None:
            return None
        from ..ai.embeddings import from_blob, to_blob

        try:
            return from_blob(to_blob(self.embedder.embed([query])[0]))
        except (ProviderError, IndexError) as exc:
            log.warning("no query vector (%s): keyword retrieval only", exc)
            return None

    def languages(self, course_id: str) -> frozenset[str]:
        """The languages ("he", "en") the course's material is written in."""
        names = {d.id: d.display_name for d in self.store.documents.list_for_course(course_id)}
        index = self._index(course_id, names)
        return index.languages if index else frozenset()

    def search(self, course_id: str, query: str, k: int = 6, document_id: str | None = None,
               extra_queries: Sequence[str] = ()) -> list[Hit]:
        if k <= 0 or not query.strip():
            return []
        names = {d.id: d.display_name for d in self.store.documents.list_for_course(course_id)}
        if document_id is not None and document_id not in names:
            return []
        index = self._index(course_id, names)
        if index is None:
            return []
        variants = [(_groups(q), KEYWORD_FLOOR) for q in (query, *extra_queries)]
        translated = index.lexicon.translate(query) if self.use_lexicon else []
        if translated:  # weighed on its own (the words left untranslated cannot match the other
            # language), so it must hold more of it: most of the term, not one common word of it
            variants.append(([(t,) for t in translated], LEXICON_FLOOR))
        keyword = index.keyword([v for v in variants if v[0]], document_id)
        dense = index.dense(self._query_vector(query), self.min_similarity, document_id) \
            if index.matrix is not None else []
        hits: list[Hit] = []
        kept: list[Chunk] = []
        for i, score in _fuse(keyword, dense):
            chunk = index.chunks[i]
            if chunk.document_id not in names:
                continue
            trimmed = without_overlap(chunk, kept)
            if trimmed is None:
                continue
            kept.append(trimmed)
            hits.append(Hit(chunk=trimmed, score=score, document_name=names[chunk.document_id]))
            if len(hits) >= min(k, MAX_K):
                break
        return hits
