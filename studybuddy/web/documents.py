"""Course material: upload (files or pasted text), status, the original file, extracted pages, delete.

Uploads are parsed here rather than by the global form parser so that every file is held to
the per-file limit while it streams in (a too-large file is refused with 413 before the rest
of the body is read). That is why these views are exempt from the global CSRF hook: they run
the same CSRF check themselves right after parsing.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from typing import IO, Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from flask_login import login_required
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from ..ingest import messages
from ..ingest.detect import IMAGE_KINDS, Rejected
from ..ingest.structure import page_blocks
from ..ingest.upload import MB, accept_file, accept_text, remove_document, retry_document
from ..store.models import Course, Document
from . import get_services
from .access import owned_course, owned_document
from .bidi import isolate
from .fragments import FragmentCache
from .errors import json_error
from .i18n import translate_stored
from .work import WAITING_FOR_SERVER, waiting_for_server

log = logging.getLogger(__name__)

bp = Blueprint("documents", __name__)

SPOOL_IN_MEMORY = 1024 * 1024
FORM_OVERHEAD = 1024 * 1024
_SELF_CHECKED_VIEWS = ("upload_api", "upload_form", "paste_api", "paste_form")


def init_app(app: Flask) -> None:
    @app.context_processor
    def upload_limits() -> dict[str, Any]:
        return {"upload_limit_mb": get_services().config.web.max_upload_mb}

    app.jinja_env.globals.update(document_rows=document_rows, status_text=STATUS_TEXT)

    csrf = app.extensions.get("csrf")
    if csrf is not None:
        for view in _SELF_CHECKED_VIEWS:
            csrf.exempt(f"{__name__}.{view}")


class _LimitedSpool:
    """A temporary file for one uploaded file that refuses to grow past the per-file limit."""

    def __init__(self, limit: int, limit_mb: int, name: str = ""):
        self.limit = limit
        self.limit_mb = limit_mb
        self.name = name
        self.size = 0
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise _FileTooLarge(self.limit_mb, self.name)
        return self.file.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.file, name)


class _FileTooLarge(RequestEntityTooLarge):
    def __init__(self, limit_mb: int, name: str = ""):
        super().__init__()
        self.limit_mb = limit_mb
        self.file_name = name


def _parse_body() -> tuple[MultiDict[str, str], MultiDict[str, FileStorage]]:
    """Parse the form with per-file and per-request limits, then check the CSRF token."""
    cfg = get_services().config
    per_file = cfg.web.max_upload_mb * MB
    total = per_file * cfg.ingest.max_files_per_upload + FORM_OVERHEAD
    if request.content_length is not None and request.content_length > total:
        raise _FileTooLarge(cfg.web.max_upload_mb)

    def stream_factory(total_content_length: int | None, content_type: str | None, filename: str | None,
                       content_length: int | None = None) -> IO[bytes]:
        return _LimitedSpool(per_file, cfg.web.max_upload_mb, filename or "")  # type: ignore[return-value]

    parser = FormDataParser(
        stream_factory=stream_factory,  # type: ignore[arg-type]
        max_form_memory_size=cfg.ingest.max_paste_chars * 4 + FORM_OVERHEAD,
        max_content_length=total,
        max_form_parts=cfg.ingest.max_files_per_upload * 2 + 50,
    )
    _, form, files = parser.parse_from_environ(request.environ)
    # A part whose Content-Disposition names no field comes back under None: nothing reads it,
    # and the CSRF check, which looks through the field names, would fail on it.
    form = MultiDict([(k, v) for k, v in form.items(multi=True) if isinstance(k, str)])
    files = MultiDict([(k, v) for k, v in files.items(multi=True) if isinstance(k, str)])
    # The parsed form becomes the request's, so the usual CSRF check can read the token.
    request.__dict__["form"] = form
    check_csrf()
    return form, files


def check_csrf() -> None:
    """The check the global CSRF hook makes, for the views exempt from it (the upload views parse
    first; the console answers a non-admin 404 first). protect() itself lets safe methods through."""
    csrf = current_app.extensions.get("csrf")
    if csrf is not None and current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()


def _translated(exc: Rejected) -> str:
    if not exc.params:
        return _(exc.template)
    return _(exc.template).format(**{k: isolate(v) for k, v in exc.params.items()})


def _too_large_message(exc: RequestEntityTooLarge) -> str:
    limit = getattr(exc, "limit_mb", get_services().config.web.max_upload_mb)
    name = getattr(exc, "file_name", "")
    if name:  # one file of a batch: say which
        return _(messages.TOO_LARGE_NAMED).format(name=isolate(name), limit=limit)
    return _(messages.TOO_LARGE).format(limit=limit)


def _effective_state(document: Document) -> tuple[str, str, int, str]:
    """(status, error, progress, stage): a document whose ingest job gave up shows as failed."""
    job = get_services().store.jobs.get(document.job_id) if document.job_id else None
    status, error = document.status, document.error
    progress, stage = (100, "") if status in ("ready", "failed") else (0, "")
    if status not in ("uploaded", "processing"):
        return status, error, progress, stage
    if job is None or job.document_id != document.id or job.state == "cancelled":
        # No job will finish it (one from before intake was atomic, or one that was cancelled):
        # shown as stopped, with the way to process it again.
        return "failed", error or messages.STOPPED, 0, ""
    progress, stage = job.progress, job.stage
    if waiting_for_server(job, time.time()):
        stage = WAITING_FOR_SERVER  # its ingest could not be published yet: the broker is away
    if job.state in ("failed", "dead"):
        status, error = "failed", error or job.error_user or messages.INTERNAL
    elif job.state == "succeeded":
        status, error = "failed", error or messages.STOPPED
    return status, error, progress, stage


_ROWS: FragmentCache[str] = FragmentCache()


def document_rows(documents: list[Document]) -> Markup:
    """The list's rows as HTML. They hold nothing but what the key holds (no token, no time), so the
    rows of an unchanged list are rendered once per language."""
    states = document_states(documents)
    key = (str(get_locale()), tuple((d.id, d.display_name, d.kind, d.status, d.error, d.page_count)
                                    for d in documents), tuple(sorted(states.items())))
    return Markup(_ROWS.get(key, lambda: render_template("documents/_rows.html", documents=documents,
                                                         row_states=states)))


def document_states(documents: list[Document]) -> dict[str, tuple[str, str, int, str]]:
    """(status, error, progress, stage) of the documents still being read (one job lookup each)."""
    return {d.id: _effective_state(d) for d in documents if d.status in ("uploaded", "processing")}


def document_json(document: Document) -> dict[str, Any]:
    status, error, progress, stage = _effective_state(document)
    return {
        "id": document.id,
        "course_id": document.course_id,
        "name": document.display_name,
        "kind": document.kind,
        "mime": document.mime,
        "size": document.size,
        "status": status,
        "status_text": _(STATUS_TEXT.get(status, status)),
        "error": translate_stored(error),
        "progress": progress,
        "stage": translate_stored(stage),
        "page_count": document.page_count,
        "job_id": document.job_id,
        "created_at": document.created_at,
        "urls": {
            "status": url_for("documents.status_api", document_id=document.id),
            "file": url_for("documents.original", document_id=document.id),
            "pages": url_for("documents.page", document_id=document.id, number=1)
            if status == "ready" else "",
            "delete": url_for("documents.delete_form", document_id=document.id),
            "retry": url_for("documents.retry_form", document_id=document.id) if status == "failed" else "",
        },
    }


STATUS_TEXT = {
    "uploaded": "Waiting",
    "processing": "Processing",
    "ready": "Ready",
    "failed": "Failed",
}


def _accept_files(course: Course) -> tuple[list[Document], list[dict[str, str]]]:
    _, files = _parse_body()
    # A browser sends one empty part with no name when no file was chosen.
    uploads = [f for f in files.getlist("files") if f.filename or _size(f) > 0]
    limit = get_services().config.ingest.max_files_per_upload
    if not uploads:
        raise Rejected(messages.NO_FILES)
    if len(uploads) > limit:
        raise Rejected(messages.TOO_MANY_FILES, limit=limit)
    accepted: list[Document] = []
    errors: list[dict[str, str]] = []
    services = get_services()
    for upload in uploads:
        upload.stream.seek(0)
        data = upload.stream.read()
        try:
            accepted.append(accept_file(services, course, _sent_file_name(upload), data))
        except Rejected as exc:
            log.info("upload of %r to course %s refused: %s", upload.filename, course.id, exc.message)
            errors.append({"name": upload.filename or "", "error": _translated(exc),
                           "status": str(exc.status)})
    return accepted, errors


_QUOTED_FILE_NAME = re.compile(r'filename="((?:[^"\\]|\\.)*)"')


def _sent_file_name(upload: FileStorage) -> str | None:
    """The file name as the browser sent it.

    Browsers do not escape a backslash in a file name, but the form parser reads one as an
    escape and drops it ("dir\\notes.txt" became "dirnotes.txt"). A name sent with a
    backslash keeps it, so the upload is refused with a clear message, not renamed.
    """
    match = _QUOTED_FILE_NAME.search(upload.headers.get("Content-Disposition", ""))
    if match and "\\" in match.group(1) and "filename*" not in upload.headers.get("Content-Disposition", ""):
        return match.group(1)
    return upload.filename


def _size(upload: FileStorage) -> int:
    upload.stream.seek(0, 2)
    size = upload.stream.tell()
    upload.stream.seek(0)
    return size


# JSON API ---------------------------------------------------------------------------------


@bp.route("/api/v1/courses/<course_id>/documents", methods=["POST"])
@login_required
def upload_api(course_id: str) -> Any:
    course = owned_course(course_id)
    try:
        accepted, errors = _accept_files(course)
    except RequestEntityTooLarge as exc:
        return json_error(413, _too_large_message(exc))
    except Rejected as exc:
        return jsonify({"error": _translated(exc), "errors": []}), exc.status
    body: dict[str, Any] = {"documents": [document_json(d) for d in accepted], "errors": errors}
    if not accepted:
        status = int(errors[0]["status"]) if errors else 400
        body["error"] = errors[0]["error"] if errors else ""
        return jsonify(body), status
    return jsonify(body), 201


@bp.route("/api/v1/courses/<course_id>/documents", methods=["GET"])
@login_required
def list_api(course_id: str) -> Any:
    course = owned_course(course_id)
    documents = get_services().store.documents.list_for_course(course.id)
    return jsonify({"documents": [document_json(d) for d in documents]})


@bp.route("/courses/<course_id>/documents/rows")
@login_required
def rows(course_id: str) -> Any:
    """The list's rows as HTML, for the live list on the course page (the same rows as a reload)."""
    course = owned_course(course_id)
    return document_rows(get_services().store.documents.list_for_course(course.id))


@bp.route("/api/v1/courses/<course_id>/documents/text", methods=["POST"])
@login_required
def paste_api(course_id: str) -> Any:
    course = owned_course(course_id)
    try:
        if request.is_json:
            check_csrf()
            body = request.get_json(silent=True)
            body = body if isinstance(body, dict) else {}
            title, text = body.get("title"), body.get("text")
        else:
            form, _files = _parse_body()
            title, text = form.get("title"), form.get("text")
        document = accept_text(get_services(), course, title if isinstance(title, str) else "",
                               text if isinstance(text, str) else "")
    except RequestEntityTooLarge as exc:
        return json_error(413, _too_large_message(exc))
    except Rejected as exc:
        return jsonify({"error": _translated(exc)}), exc.status
    return jsonify({"document": document_json(document)}), 201


@bp.route("/api/v1/documents/<document_id>", methods=["GET"])
@login_required
def status_api(document_id: str) -> Any:
    return jsonify(document_json(owned_document(document_id)))


@bp.route("/api/v1/documents/<document_id>/retry", methods=["POST"])
@login_required
def retry_api(document_id: str) -> Any:
    document = owned_document(document_id)
    try:
        document = retry_document(get_services(), document)
    except Rejected as exc:
        return jsonify({"error": _translated(exc)}), exc.status
    return jsonify(document_json(document)), 202


@bp.route("/api/v1/documents/<document_id>", methods=["DELETE"])
@login_required
def delete_api(document_id: str) -> Any:
    document = owned_document(document_id)
    remove_document(get_services(), document)
    return jsonify({"deleted": document.id})


# Pages ------------------------------------------------------------------------------------


@bp.route("/courses/<course_id>/documents", methods=["POST"])
@login_required
def upload_form(course_id: str) -> Any:
    course = owned_course(course_id)
    back = redirect(url_for("courses.view", course_id=course.id) + "#documents")
    try:
        accepted, errors = _accept_files(course)
    except RequestEntityTooLarge as exc:
        flash(_too_large_message(exc), "error")
        return back, 413  # type: ignore[return-value]
    except Rejected as exc:
        flash(_translated(exc), "error")
        return back, exc.status  # type: ignore[return-value]
    for error in errors:
        flash(Markup("<bdi>{}</bdi>: {}").format(error["name"], error["error"]), "error")
    if accepted:
        flash(_("%(count)d file(s) uploaded; they are being processed.", count=len(accepted)), "info")
    return back


@bp.route("/courses/<course_id>/documents/text", methods=["POST"])
@login_required
def paste_form(course_id: str) -> Any:
    course = owned_course(course_id)
    back = redirect(url_for("courses.view", course_id=course.id) + "#documents")
    try:
        form, _files = _parse_body()
        accept_text(get_services(), course, form.get("title"), form.get("text"))
    except RequestEntityTooLarge as exc:
        flash(_too_large_message(exc), "error")
        return back, 413  # type: ignore[return-value]
    except Rejected as exc:
        flash(_translated(exc), "error")
        return back, exc.status  # type: ignore[return-value]
    flash(_("The text was added; it is being processed."), "info")
    return back


@bp.route("/documents/<document_id>/retry", methods=["POST"])
@login_required
def retry_form(document_id: str) -> Any:
    document = owned_document(document_id)
    back = redirect(url_for("courses.view", course_id=document.course_id) + "#documents")
    try:
        retry_document(get_services(), document)
    except Rejected as exc:
        flash(_translated(exc), "error")
        return back, exc.status  # type: ignore[return-value]
    flash(_("The document will be processed again."), "info")
    return back


@bp.route("/documents/<document_id>/delete", methods=["POST"])
@login_required
def delete_form(document_id: str) -> Any:
    document = owned_document(document_id)
    remove_document(get_services(), document)
    flash(_("The document was deleted."), "info")
    return redirect(url_for("courses.view", course_id=document.course_id) + "#documents")


@bp.route("/documents/<document_id>/file")
@login_required
def original(document_id: str) -> Any:
    """The uploaded file. PDFs and photos open in the browser (so #page=N works); the rest download."""
    document = owned_document(document_id)
    try:
        data = get_services().store.blobs.get(document.blob_id)
    except KeyError:
        abort(404)
    import io

    inline = document.kind == "pdf" or document.kind in IMAGE_KINDS
    response = send_file(
        io.BytesIO(data),
        mimetype=document.mime or "application/octet-stream",
        as_attachment=not inline,
        download_name=document.display_name,
        max_age=0,
        etag=False,
    )
    response.headers["Cache-Control"] = "private, no-store"
    if inline:
        # The browser's own PDF viewer runs in this page: no scripts of ours, no framing by others.
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; object-src 'self'; "
            "frame-ancestors 'self'"
        )
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.route("/documents/<document_id>/pages/<int:number>")
@login_required
def page(document_id: str, number: int) -> Any:
    """The extracted text of one page or slide."""
    document = owned_document(document_id)
    store = get_services().store
    found = store.pages.get(document.id, number)
    if found is None:
        abort(404)
    course = store.courses.get(document.course_id)
    return render_template(
        "documents/page.html",
        document=document,
        course=course,
        page=found,
        blocks=page_blocks(found.text),
        page_count=document.page_count,
        slides=document.kind == "pptx",
    )
