"""The `ingest` job (queue file_processing): one uploaded document becomes pages and chunks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ...ingest import messages
from ...ingest.extract import ExtractionError
from ...ingest.pipeline import discard_results, ingest_document
from ...jobs.errors import PermanentError, TransientError
from ...store import StoreError

if TYPE_CHECKING:
    from ..runner import JobContext

log = logging.getLogger(__name__)


def handle(ctx: JobContext) -> str:
    document_id = ctx.job.document_id
    if not document_id:
        raise PermanentError(messages.INTERNAL, "ingest job without a document id")
    try:
        document = ingest_document(ctx.store, ctx.config, document_id, ctx.progress, ctx.services.embedder)
    except ExtractionError as exc:
        raise PermanentError(exc.user_message, exc.internal) from exc
    except StoreError as exc:
        raise TransientError(f"store: {exc}") from exc
    except Exception as exc:  # a library failing on strange input fails only this file
        log.exception("ingest of document %s crashed", document_id)
        document = ctx.store.documents.get(document_id)
        if document is not None:
            discard_results(ctx.store, document)
            ctx.store.documents.update(document_id, status="failed", error=messages.INTERNAL)
        raise PermanentError(messages.INTERNAL, f"{type(exc).__name__}: {exc}") from exc
    if document is None:
        log.info("document %s was deleted before its ingest finished", document_id)
        return ""
    from ...study.starter import after_first_document

    after_first_document(ctx.services, document.course_id, document.id)
    return document.id
