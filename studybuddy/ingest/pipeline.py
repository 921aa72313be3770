"""One document through the whole ingest: extract, normalise, chunk, store, index."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..store.models import Chunk, Document, Page, new_id
from . import messages
from .chunking import ChunkSpan, chunk_page, chunk_pages
from .extract import ExtractionError
from .hebrew import normalize_display, search_form
from .retrieval import mark_course_changed
from .sandbox import extract_pages_isolated
from .structure import outline
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
    return _chunks(document, [(span, search_form(span.text)) for span in spans])


def _chunks(document: Document, spans: list[tuple[ChunkSpan, str]]) -> list[Chunk]:
    """Chunks of a document from its spans (in reading order) and their search forms."""
    return [
        Chunk(
            id=new_id(),
            document_id=document.id,
            course_id=document.course_id,
            ordinal=ordinal,
            page=span.page,
            text=span.text,
            search_text=search_text,
            start=span.start,
            end=span.end,
        )
        for ordinal, (span, search_text) in enumerate(spans)
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

    pages: list[Page] = []
    spans: list[tuple[ChunkSpan, str]] = []
    words, overlap = cfg.ingest.chunk_words, cfg.ingest.chunk_overlap_words

    def tidy(number: int, raw: str) -> None:  # while the parser reads the next page
        page = Page(document_id=document.id, number=number, text=normalize_display(raw))
        pages.append(page)
        spans.extend((span, search_form(span.text)) for span in chunk_page(number, page.text, words, overlap))

    extract_pages_isolated(document.kind, data, cfg.ingest, extraction_progress, on_page=tidy)
    report(EXTRACT_TO, messages.STAGE_NORMALISING)
    if not any(page.text.strip() for page in pages):
        raise ExtractionError(messages.NO_TEXT)
    report(90, messages.STAGE_CHUNKING)
    return pages, _chunks(document, spans)


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
    headings = outline((page.number, page.text) for page in pages)
    updated = store.documents.update(document.id, status="ready", error="", page_count=len(pages),
                                      outline=json.dumps(headings, ensure_ascii=False) if headings else "")
    if updated is None:  # deleted between the write and now
        discard_results(store, document)
        return None
    report(100, messages.STAGE_READY)
    return updated
