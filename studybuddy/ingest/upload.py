"""Accepting a document: check it, store the bytes under an opaque id, record it, queue its ingest."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from ..jobs.service import submit_job
from ..store.models import Course, Document, new_id
from . import messages
from .detect import FileKind, Rejected, clean_display_name, detect_kind

if TYPE_CHECKING:
    from ..services import Services

log = logging.getLogger(__name__)

MB = 1024 * 1024


def _store_document(services: Services, course: Course, display_name: str, kind: FileKind,
                    data: bytes, refuse_duplicate: bool = True) -> Document:
    store = services.store
    content_hash = hashlib.sha256(data).hexdigest()
    existing = store.documents.find_by_hash(course.id, content_hash) if refuse_duplicate else None
    if existing is not None:
        raise Rejected(messages.DUPLICATE, status=409, name=existing.display_name)
    blob_id = store.blobs.put(data)
    document = Document(
        id=new_id(),
        course_id=course.id,
        owner_id=course.owner_id,
        display_name=display_name,
        blob_id=blob_id,
        mime=kind.mime,
        kind=kind.kind,
        size=len(data),
        content_hash=content_hash,
    )
    try:
        store.documents.add(document)
    except BaseException:
        store.blobs.delete(blob_id)
        raise
    try:
        job = submit_job(services, "ingest", course.owner_id, course_id=course.id, document_id=document.id)
    except BaseException:
        store.delete_document(document.id)
        raise
    updated = store.documents.update(document.id, job_id=job.id)
    log.info("document %s (%s, %d bytes) added to course %s; ingest job %s",
             document.id, kind.kind, len(data), course.id, job.id)
    return updated or document


def accept_file(services: Services, course: Course, filename: str | None, data: bytes) -> Document:
    """Check an uploaded file and queue its ingest; Rejected (nothing stored) for bad input."""
    display_name = clean_display_name(filename)
    limit = services.config.web.max_upload_mb
    if len(data) > limit * MB:
        raise Rejected(messages.TOO_LARGE_NAMED, status=413, name=display_name, limit=limit)
    kind = detect_kind(data, display_name)
    return _store_document(services, course, display_name, kind, data)


def accept_text(services: Services, course: Course, title: str | None, text: str | None) -> Document:
    """A pasted text becomes a plain-text document with the given title."""
    title = (title or "").strip()
    if not title:
        raise Rejected(messages.TITLE_REQUIRED)
    display_name = clean_display_name(title)
    text = (text or "").replace("\r\n", "\n")
    if not text.strip():
        raise Rejected(messages.EMPTY_TEXT)
    limit = services.config.ingest.max_paste_chars
    if len(text) > limit:
        raise Rejected(messages.TEXT_TOO_LONG, limit=limit)
    data = text.encode("utf-8")
    if len(data) > services.config.web.max_upload_mb * MB:
        raise Rejected(messages.TOO_LARGE, status=413, limit=services.config.web.max_upload_mb)
    kind = FileKind(kind="txt", mime="text/plain")
    # A pasted text may come again on purpose (under another title); only files are refused.
    return _store_document(services, course, display_name, kind, data, refuse_duplicate=False)


def remove_document(services: Services, document: Document) -> None:
    """Delete a document with its pages, chunks, derived artifacts and file."""
    services.store.delete_document(document.id)
    from .retrieval import mark_course_changed

    mark_course_changed(services.store, document.course_id)
    log.info("document %s deleted from course %s", document.id, document.course_id)


def retry_document(services: Services, document: Document, failed: bool) -> Document:
    """Queue a new ingest of a document that failed (say, once OCR has been installed)."""
    store = services.store
    if not failed:
        raise Rejected(messages.NOT_FAILED, status=409)
    if not store.blobs.exists(document.blob_id):
        raise Rejected(messages.FILE_MISSING, status=409)
    job = submit_job(services, "ingest", document.owner_id, course_id=document.course_id,
                     document_id=document.id)
    updated = store.documents.update(document.id, status="uploaded", error="", job_id=job.id)
    log.info("document %s queued again as job %s", document.id, job.id)
    return updated or document
