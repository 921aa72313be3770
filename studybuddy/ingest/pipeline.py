"""One document through the whole ingest: extract, normalise, chunk, store, index."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..store.models import Chunk, Document, Page, new_id
from . import messages
from .chunking import chunk_pages
from .extract import ExtractionError, extract_pages
from .hebrew import normalize_display, search_form
from .retrieval import mark_course_changed
from .vectors import embed_document_chunks

if TYPE_CHECKING:
    from ..config import Config
    from ..store import Store

log = logging.getLogger(__name__)

Report = Callable[[int, str], None]  # (percent, stage)

EXTRACT_FROM, EXTRACT_TO = 5, 80


def _no_report(percent: int, stage: str) -> None:
    return None


def build_chunks(document: Document, pages: list[Page], words: int, overlap: int) -> list[Chunk]:
    spans = chunk_pages(((p.number, p.text) for p in pages), words, overlap)
    return [
        Chunk(
            id=new_id(),
            document_id=document.id,
            course_id=document.course_id,
            ordinal=ordinal,
            page=span.page,
            text=span.text,
            search_text=search_form(span.text),
            start=span.start,
            end=span.end,
        )
        for ordinal, span in enumerate(spans)
    ]


def process_bytes(
    document: Document, data: bytes, cfg: Config, report: Report = _no_report
) -> tuple[list[Page], list[Chunk]]:
    """Pages (display text) and chunks of a document's bytes; ExtractionError for bad input."""

    last = [-1]

    def extraction_progress(done: int, total: int) -> None:
        percent = EXTRACT_FROM + (EXTRACT_TO - EXTRACT_FROM) * done // max(total, 1)
        if percent != last[0]:  # at most one store write per percent
            last[0] = percent
            report(percent, messages.STAGE_EXTRACTING)

    raw_pages = extract_pages(document.kind, data, cfg.ingest, extraction_progress)
    report(EXTRACT_TO, messages.STAGE_NORMALISING)
    pages = [Page(document_id=document.id, number=n, text=normalize_display(text))
             for n, text in enumerate(raw_pages, start=1)]
    if not any(page.text.strip() for page in pages):
        raise ExtractionError(messages.NO_TEXT)
    report(90, messages.STAGE_CHUNKING)
    chunks = build_chunks(document, pages, cfg.ingest.chunk_words, cfg.ingest.chunk_overlap_words)
    return pages, chunks


def discard_results(store: Store, document: Document) -> None:
    """No pages or chunks stay behind for a document that did not become ready."""
    store.chunks.replace_for_document(document.id, [])
    store.pages.replace_for_document(document.id, [])
    mark_course_changed(store, document.course_id)


def ingest_document(store: Store, cfg: Config, document_id: str, report: Report = _no_report,
                    embedder: Any = None) -> Document | None:
    """Run the ingest of one stored document; None if it was deleted meanwhile.

    Bad input marks the document failed with the reason and raises ExtractionError; any
    other error leaves no pages or chunks behind and propagates.
    """
    document = store.documents.get(document_id)
    if document is None:
        return None
    store.documents.update(document.id, status="processing", error="")
    report(EXTRACT_FROM, messages.STAGE_READING)
    try:
        try:
            data = store.blobs.get(document.blob_id)
        except KeyError:
            raise ExtractionError(messages.FILE_MISSING, f"blob {document.blob_id} missing") from None
        pages, chunks = process_bytes(document, data, cfg, report)
        report(95, messages.STAGE_INDEXING)
        if store.documents.get(document.id) is None:
            return None  # deleted while we worked: store nothing
        store.pages.replace_for_document(document.id, pages)
        store.chunks.replace_for_document(document.id, chunks)
        embed_document_chunks(store, embedder, chunks, cfg.ai.embedding_batch)
    except ExtractionError as exc:
        log.info("document %s (%s) failed: %s", document.id, document.kind, exc.internal)
        discard_results(store, document)
        store.documents.update(document.id, status="failed", error=exc.user_message)
        raise
    except BaseException:
        discard_results(store, document)
        raise
    mark_course_changed(store, document.course_id)
    updated = store.documents.update(document.id, status="ready", error="", page_count=len(pages))
    if updated is None:  # deleted between the write and now
        discard_results(store, document)
        return None
    report(100, messages.STAGE_READY)
    return updated
