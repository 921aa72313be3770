"""Keyword retrieval over a course's chunks: BM25 (the bm25s library) on Hebrew-aware terms.

Each chunk is indexed by the terms of its search text (nikud stripped, casefolded); a Hebrew
word also yields its forms without prefix letters (ו ה ב כ ל מ ש), and so does every query
word, so "ובספר" finds "הספר". The index of a course is built in memory on first use and
rebuilt when the course's chunks change (see `mark_course_changed`). It works the same over
both stores, since it only reads `store.chunks.list_for_course`.

bm25s was chosen over SQLite FTS5 (an in-memory FTS5 table fed the same terms) by measuring a
2,000-chunk course in bench/ingest.py: index builds took about as long, bm25s answered
queries faster (median about 1.3-1.7x, 0.3-0.5 ms), and it needs no second copy of the text
in a database of its own.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..store.models import Chunk
from .hebrew import query_terms, search_tokens, token_terms

if TYPE_CHECKING:
    from ..store import Store

log = logging.getLogger(__name__)

MAX_K = 50
MAX_CACHED_COURSES = 64


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


class _CourseIndex:
    """The BM25 index of one course's chunks."""

    def __init__(self, chunks: list[Chunk]):
        import bm25s
        import numpy as np

        self.chunks = chunks
        vocab: dict[str, int] = {}
        # Words repeat a lot: each distinct word is turned into term ids once.
        word_ids: dict[str, list[int]] = {}
        ids: list[list[int]] = []
        for chunk in chunks:
            chunk_ids: list[int] = []
            for word in search_tokens(chunk.search_text):
                known = word_ids.get(word)
                if known is None:
                    known = word_ids[word] = [vocab.setdefault(t, len(vocab)) for t in token_terms(word)]
                chunk_ids += known
            ids.append(chunk_ids)
        self.vocab = vocab
        self.model = bm25s.BM25()
        self.model.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
        self.document_ids = np.array([chunk.document_id for chunk in chunks], dtype=object)
        self.lock = threading.Lock()

    def search(self, terms: list[str], k: int, document_id: str | None) -> list[tuple[Chunk, float]]:
        import numpy as np

        known = [term for term in terms if term in self.vocab]
        if not known:
            return []
        with self.lock:
            scores = np.asarray(self.model.get_scores(known), dtype=float)
        if document_id is not None:
            scores = np.where(self.document_ids == document_id, scores, 0.0)
        positive = np.flatnonzero(scores > 0)
        if positive.size == 0:
            return []
        # Highest score first; ties keep document order, so results are stable.
        order = positive[np.lexsort((positive, -scores[positive]))][:k]
        return [(self.chunks[i], float(scores[i])) for i in order]


class Retrieval:
    """Search a course's (or one document's) chunks; the best `k` hits first."""

    def __init__(self, store: Store) -> None:
        self.store = store
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
        index = _CourseIndex(chunks) if chunks else None
        log.debug("indexed course %s: %d chunks", course_id, len(chunks))
        with self._lock:
            if len(self._cache) >= MAX_CACHED_COURSES and course_id not in self._cache:
                self._cache.pop(next(iter(self._cache)))
            self._cache[course_id] = (signature, index)
        return index

    def search(self, course_id: str, query: str, k: int = 6, document_id: str | None = None) -> list[Hit]:
        terms = query_terms(query)
        if not terms or k <= 0:
            return []
        names = {d.id: d.display_name for d in self.store.documents.list_for_course(course_id)}
        if document_id is not None and document_id not in names:
            return []
        index = self._index(course_id, names)
        if index is None:
            return []
        return [
            Hit(chunk=chunk, score=score, document_name=names.get(chunk.document_id, ""))
            for chunk, score in index.search(terms, min(k, MAX_K), document_id)
            if chunk.document_id in names
        ]
