"""A course's recent work, one list: jobs under way (stage, place in the queue, time, cancel) and
the results they made; and the results' own care: rename, delete, pin."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from flask import Blueprint, Flask, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from ..store.base import DuplicateError
from ..store.models import Artifact, Course, Document, Item, Job, new_id
from ..study.titles import short_text
from . import get_services
from .access import owned_artifact, owned_job
from .dates import relative_bucket
from .fragments import FragmentCache
from .i18n import translate_stored
from .labels import STATE_TEXT, N_

bp = Blueprint("work", __name__)

PIN = "result_pin"
RESULT_KINDS = ("summary", "flashcards", "quiz", "glossary", "homework", "study_guide", "faq", "mind_map")
# Jobs that show elsewhere (documents, chat, quiz pages) or are the system's own.
NOT_LISTED = ("ingest", "ping", "chat", "quiz_grade")
MAX_TITLE = 200


@dataclasses.dataclass
class WorkEntry:
    kind: str
    created_at: float
    job: Job | None = None
    result: Artifact | None = None
    pinned: bool = False
    scope: str = ""


WAITING_FOR_SERVER = N_("Waiting for the job server…")


def waiting_for_server(job: Job, now: float) -> bool:
    """A due job the broker has not taken: it could not be published (the broker is away), and the
    reaper publishes it once the broker is back."""
    return job.state == "queued" and job.dispatched_at is None and job.not_before <= now


def job_state_text(job: Job, now: float) -> str:
    """The job's state in the student's words (translated)."""
    if waiting_for_server(job, now):
        return _(WAITING_FOR_SERVER)
    return _(STATE_TEXT.get(job.state, job.state))


def job_details(job: Job, now: float | None = None) -> dict[str, Any]:
    """What a page needs to follow a job: its state in words, place in the queue, time so far,
    where to cancel."""
    now = time.time() if now is None else now
    waiting = job.state == "queued"
    return {
        "waiting_for_server": waiting_for_server(job, now),
        "state_text": job_state_text(job, now),
        "ahead": get_services().store.jobs.count_ahead(job) if waiting else None,
        "elapsed": max(0, int(((job.finished_at or now) if job.finished else now) - job.created_at)),
        "cancel_url": url_for("work.cancel", job_id=job.id) if not job.finished else "",
        "result_url": url_for("tools.result", artifact_id=job.result_ref)
        if job.state == "succeeded" and job.result_ref else "",
        "row_url": url_for("work.row", job_id=job.id),
    }


def _pins(owner_id: str, course_id: str) -> set[str]:
    return {i.parent_id for i in get_services().store.items.find(PIN, owner_id=owner_id, course_id=course_id)}


def recent_work(course: Course, documents: list[Document] | None = None, limit: int = 10) -> list[WorkEntry]:
    """Pinned results first, then the newest jobs and results, each job shown once with its result."""
    store = get_services().store
    results = store.artifacts.list_recent(course.id, current_user.id, RESULT_KINDS, limit)
    jobs = [j for j in store.jobs.list_for_owner(current_user.id, course.id, limit=limit + 2)
            if j.type not in NOT_LISTED]
    pins = _pins(current_user.id, course.id)
    names = {d.id: d.display_name for d in documents or []}
    by_job = {a.job_id: a for a in results if a.job_id}
    entries = [WorkEntry(a.kind, a.created_at, result=a, pinned=a.id in pins) for a in results]
    listed = {a.id for a in results}
    for job in jobs:
        made = by_job.get(job.id)
        if made is not None:
            next(e for e in entries if e.result is made).job = job
        elif not (job.state == "succeeded" and job.result_ref in listed):
            scope = names.get(str(job.params.get("document_id") or ""), "")
            entries.append(WorkEntry(job.type, job.created_at, job=job, scope=scope))
    if pins - listed:  # pinned results older than the newest ones
        for artifact_id in pins - listed:
            artifact = store.artifacts.get(artifact_id)
            if artifact is not None and artifact.owner_id == current_user.id:
                entries.append(WorkEntry(artifact.kind, artifact.created_at, result=artifact, pinned=True))
    entries.sort(key=lambda e: (not e.pinned, -e.created_at))
    return entries[: limit + len(pins)]


_ROWS: FragmentCache[str] = FragmentCache()
_GRIDS: FragmentCache[str] = FragmentCache()


def _entry_key(entry: WorkEntry, now: float) -> tuple[Any, ...]:
    job, result = entry.job, entry.result
    return (entry.kind, entry.pinned, entry.scope, entry.created_at, relative_bucket(entry.created_at - now),
            (job.id, job.state, job.error_user) if job else None,
            (result.id, result.title, result.kind) if result else None)


def work_rows(work: list[WorkEntry]) -> Markup:
    """The rows of recent work. When nothing in it is under way they hold only what the key holds
    (titles, states, "n minutes ago"), so an unchanged list is rendered once per language."""
    if any(e.job is not None and not e.job.finished for e in work):
        return Markup(render_template("tools/_work_rows.html", work=work))
    now = time.time()
    key = (str(get_locale()), tuple(_entry_key(e, now) for e in work))
    return Markup(_ROWS.get(key, lambda: render_template("tools/_work_rows.html", work=work)))


_OUTLINES: FragmentCache[str] = FragmentCache()


def course_outline(documents: list[Document], outlines: dict[str, Any]) -> Markup:
    """The contents of the course's material (headings per document), kept per language and outline."""
    if not outlines:
        return Markup("")
    key = (str(get_locale()), tuple((d.id, d.display_name, repr(outlines[d.id])) for d in documents
                                    if d.id in outlines))
    return Markup(_OUTLINES.get(key, lambda: render_template("courses/_outline.html", documents=documents,
                                                             outlines=outlines)))


CSRF_PLACEHOLDER = "\x00csrf\x00"


def tools_grid(course: Course, documents: list[Document]) -> Markup:
    """The course page's study tools: rendered once per course, language and state (material or
    not, starter offered or not); the page's CSRF token goes in place of a placeholder."""
    from flask_wtf.csrf import generate_csrf

    from .tools import starter_offer

    has_material = any(d.status == "ready" for d in documents)
    offer = has_material and starter_offer(course)
    key = (str(get_locale()), course.id, has_material, offer)
    html = _GRIDS.get(key, lambda: render_template("tools/_grid.html", course=course, has_material=has_material,
                                                   offer_starter=offer, csrf_placeholder=CSRF_PLACEHOLDER))
    return Markup(html.replace(CSRF_PLACEHOLDER, str(escape(generate_csrf()))))


def _back(course_id: str) -> Any:
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("courses.view", course_id=course_id) + "#work")


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.route("/jobs/<job_id>/cancel", methods=["POST"])
@login_required
def cancel(job_id: str) -> Any:
    """Stop a job: a waiting one is never started; a running one's work is discarded."""
    job = owned_job(job_id)
    store = get_services().store
    cancelled = store.jobs.cancel(job.id, current_user.id, time.time())
    current = cancelled or store.jobs.get(job.id) or job
    if _wants_json():
        from .api import job_json

        return jsonify(job_json(current)), (200 if cancelled is not None else 409)
    if cancelled is None:
        flash(_("This task had already finished."), "info")
    return _back(job.course_id)


@bp.route("/jobs/<job_id>/row")
@login_required
def row(job_id: str) -> Any:
    """One row of the recent-work list, for the course page to show a job it started or finished."""
    job = owned_job(job_id)
    store = get_services().store
    result = store.artifacts.get(job.result_ref) if job.state == "succeeded" and job.result_ref else None
    if result is not None and result.owner_id != current_user.id:
        result = None
    document = store.documents.get(str(job.params.get("document_id") or ""))
    scope = document.display_name if document is not None and document.owner_id == current_user.id else ""
    pinned = result is not None and result.id in _pins(current_user.id, job.course_id)
    entry = WorkEntry(job.type, job.created_at, job=job, result=result, pinned=pinned, scope=scope)
    return render_template("tools/_work_rows.html", work=[entry])


# Results: rename, delete, pin ----------------------------------------------------------------
def _owned_result(artifact_id: str) -> Artifact:
    artifact = owned_artifact(artifact_id)
    if artifact.kind not in RESULT_KINDS:
        abort(404)
    return artifact


@bp.route("/results/<artifact_id>/rename", methods=["POST"])
@login_required
def rename(artifact_id: str) -> Any:
    artifact = _owned_result(artifact_id)
    title = " ".join(request.form.get("title", "").split())
    if not title:
        flash(_("Give the result a name."), "error")
        return _back(artifact.course_id), 400  # type: ignore[return-value]
    get_services().store.artifacts.rename(artifact.id, short_text(title, MAX_TITLE))
    flash(_("The result was renamed."), "info")
    return _back(artifact.course_id)


@bp.route("/results/<artifact_id>/delete", methods=["POST"])
@login_required
def delete(artifact_id: str) -> Any:
    """The result, its pin and its quiz attempts (decks made from flashcards are the student's own)."""
    artifact = _owned_result(artifact_id)
    store = get_services().store
    for kind in (PIN, "quiz_attempt"):
        for item in store.items.find(kind, owner_id=current_user.id, parent_id=artifact.id):
            store.items.delete(item.id)
    store.artifacts.delete(artifact.id)
    flash(_("The result was deleted."), "info")
    target = request.form.get("next", "")
    if target.startswith(f"/results/{artifact.id}") or target.startswith(f"/quizzes/{artifact.id}"):
        return redirect(url_for("courses.view", course_id=artifact.course_id) + "#work")
    return _back(artifact.course_id)


@bp.route("/results/<artifact_id>/pin", methods=["POST"])
@login_required
def pin(artifact_id: str) -> Any:
    """Pin a result to the top of the course's list, or unpin it."""
    artifact = _owned_result(artifact_id)
    store = get_services().store
    existing = store.items.get_by_key(PIN, current_user.id, artifact.id)
    if existing is not None:
        store.items.delete(existing.id)
    else:
        try:
            store.items.add(Item(id=new_id(), kind=PIN, owner_id=current_user.id, course_id=artifact.course_id,
                                 parent_id=artifact.id, key=artifact.id, data={}))
        except DuplicateError:
            pass  # pinned twice at once: pinned
    return _back(artifact.course_id)


def init_app(app: Flask) -> None:
    def result_pinned(artifact: Artifact) -> bool:
        return get_services().store.items.get_by_key(PIN, current_user.id, artifact.id) is not None

    app.jinja_env.globals.update(recent_work=recent_work, work_rows=work_rows, tools_grid=tools_grid,
                                 course_outline=course_outline,
                                 job_details=job_details,
                                 result_pinned=result_pinned,
                                 stored_text=translate_stored)
