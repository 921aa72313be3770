"""Accepting a document: check it, store the bytes under an opaque id, record it, queue its ingest."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import TYPE_CHECKING

from ..jobs.service import dispatch
from ..jobs.types import queue_for
from ..store.models import Course, Document, Job, new_id
from . import messages
from .detect import FileKind, Rejected, clean_display_name, detect_kind

if TYPE_CHECKING:
    from ..services import Services

log = logging.getLogger(__name__)

MB = 1024 * 1024


def _ingest_job(services: Services, document: Document) -> Job:
    """A queued, undispatched ingest job for the document."""
    now = time.time()
    return Job(id=new_id(), type="ingest", queue=queue_for("ingest"), owner_id=document.owner_id,
               course_id=document.course_id, document_id=document.id,
               max_attempts=services.config.worker.max_attempts, created_at=now, updated_at=now)


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
    job = _ingest_job(services, document)
    try:
        # The document and its job in one write (an outbox): a crash after it leaves a queued job
        # the reaper publishes, never a document without a job.
        document = store.documents.add_with_job(document, job)
    except BaseException:
        store.blobs.delete(blob_id)
        raise
    dispatch(services, job)
    log.info("document %s (%s, %d bytes) added to course %s; ingest job %s",
             document.id, kind.kind, len(data), course.id, job.id)
    return document


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


LIVE_JOB_STATES = ("queued", "running")


def has_live_job(services: Services, document: Document) -> bool:
    """Whether an ingest job of the document is still waiting or running."""
    job = services.store.jobs.get(document.job_id) if document.job_id else None
    return job is not None and job.document_id == document.id and job.state in LIVE_JOB_STATES


def can_retry(services: Services, document: Document) -> bool:
    """A failed document, or one that is not ready and has no live job, can be processed again."""
    if document.status == "failed":
        return True
    return document.status != "ready" and not has_live_job(services, document)


def retry_document(services: Services, document: Document) -> Document:
    """Queue a new ingest of a document that failed (say, once OCR has been installed) or whose
    ingest stopped without an outcome."""
    store = services.store
    if not can_retry(services, document):
        raise Rejected(messages.NOT_FAILED, status=409)
    if not store.blobs.exists(document.blob_id):
        raise Rejected(messages.FILE_MISSING, status=409)
    job = _ingest_job(services, document)
    # Queued first and published last: a crash in between leaves a job the reaper publishes.
    store.jobs.add(job)
    updated = store.documents.update(document.id, status="uploaded", error="", job_id=job.id)
    dispatch(services, job)
    log.info("document %s queued again as job %s", document.id, job.id)
    return updated or document
