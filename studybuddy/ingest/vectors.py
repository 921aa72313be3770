"""Embedding a document's chunks at ingest, and filling in the vectors of chunks that have none
(`studybuddy embed-chunks`). A failed embedding never fails a document: keyword retrieval works
without vectors, and the backfill command catches up later."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..ai.base import ProviderError
from ..ai.embeddings import embed_in_batches
from ..store.base import StoreError
from ..store.models import Chunk
from .retrieval import mark_course_changed

if TYPE_CHECKING:
    from ..ai.embeddings import Embedder
    from ..store import Store

log = logging.getLogger(__name__)


def embedding_text(chunk: Chunk) -> str:
    """What is embedded: the chunk's words without the structure markers."""
    from ..ai.offline.text import strip_markup

    return strip_markup(chunk.text)


def store_vectors(store: Store, embedder: Embedder, chunks: list[Chunk], batch: int,
                  report: Callable[[int, int], None] | None = None) -> int:
    """Embed `chunks` (batch by batch) and keep the vectors with them; returns how many were stored."""
    if not chunks:
        return 0
    blobs = embed_in_batches(embedder, [embedding_text(c) for c in chunks], batch, report)
    return store.vectors.put(embedder.model, {c.id: blob for c, blob in zip(chunks, blobs)})


def embed_document_chunks(store: Store, embedder: Embedder | None, chunks: list[Chunk], batch: int) -> bool:
    """The ingest step: True when the chunks got vectors, False (logged) when they did not."""
    if embedder is None or not chunks:
        return False
    try:
        store_vectors(store, embedder, chunks, batch)
    except (ProviderError, StoreError) as exc:
        log.warning("document %s: no vectors for its %d chunks (%s); `studybuddy embed-chunks` fills them in",
                    chunks[0].document_id, len(chunks), exc)
        return False
    return True


def backfill(store: Store, embedder: Embedder, batch: int, course_id: str | None = None,
             report: Callable[[int], None] | None = None) -> int:
    """Vectors for every chunk that has none from the embedder's model; returns how many."""
    done = 0
    courses: set[str] = set()
    while True:
        missing = store.vectors.missing(embedder.model, limit=max(batch, 64) * 4, course_id=course_id)
        if not missing:
            break
        stored = store_vectors(store, embedder, missing, batch)
        if stored == 0:
            break  # the chunks went away meanwhile
        done += stored
        courses |= {c.course_id for c in missing}
        if report:
            report(done)
    for course in courses:
        mark_course_changed(store, course)
    return done


