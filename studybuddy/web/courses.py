"""The library (a student's courses) and the course page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..courses import CourseError, create_course, delete_course, rename_course
from ..ingest.structure import stored_outline
from . import get_services
from .access import owned_course, owned_course_stamped
from .pagecache import course_page_key, kept_page

bp = Blueprint("courses", __name__)


@bp.route("/library", methods=["GET", "POST"])
@login_required
def library() -> Any:
    store = get_services().store
    if request.method == "POST":
        try:
            course = create_course(store, current_user.id, request.form.get("name", ""))
        except CourseError as exc:
            flash(_(str(exc)), "error")
            return render_template("courses/library.html",
                                   courses=store.courses.list_for_owner(current_user.id)), 400
        return redirect(url_for("courses.view", course_id=course.id))
    return render_template("courses/library.html", courses=store.courses.list_for_owner(current_user.id))


@bp.route("/courses/<course_id>")
@login_required
def view(course_id: str) -> Any:
    # The stamp is read before the page: a write made while it renders moves the stamp again.
    course, stamp = owned_course_stamped(course_id)
    store = get_services().store
    key = course_page_key(course.id, stamp)

    def render() -> str:
        documents = store.documents.list_for_course(course.id)
        outlines = {document.id: stored_outline(document.outline) for document in documents
                    if document.status == "ready"}
        return render_template(
            "courses/view.html",
            course=course,
            documents=documents,
            outlines={key: value for key, value in outlines.items() if value},
        )

    return kept_page(key, render)


@bp.route("/courses/<course_id>/rename", methods=["POST"])
@login_required
def rename(course_id: str) -> Any:
    course = owned_course(course_id)
    try:
        rename_course(get_services().store, course, request.form.get("name", ""))
    except CourseError as exc:
        flash(_(str(exc)), "error")
        return redirect(url_for("courses.view", course_id=course.id)), 400  # type: ignore[return-value]
    return redirect(url_for("courses.view", course_id=course.id))


@bp.route("/courses/<course_id>/delete", methods=["POST"])
@login_required
def delete(course_id: str) -> Any:
    course = owned_course(course_id)
    delete_course(get_services().store, course)
    flash(_("The course was deleted."), "info")
    return redirect(url_for("courses.library"))
