"""JSON API: courses and job status."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_login import current_user, login_required

from ..courses import CourseError, create_course, delete_course
from ..store.models import Job
from . import get_services
from .access import owned_course, owned_job
from .errors import json_error
from .i18n import translate_stored
from .work import job_details

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "type": job.type,
        "state": job.state,
        "progress": job.progress,
        # Stages and errors are English messages; the student reads them in their language.
        "stage": translate_stored(job.stage),
        "error": translate_stored(job.error_user),
        "result": job.result_ref if job.state == "succeeded" else "",
        "course_id": job.course_id,
        "document_id": job.document_id,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        **job_details(job),
    }


@bp.route("/jobs/<job_id>")
@login_required
def job_status(job_id: str) -> Any:
    return jsonify(job_json(owned_job(job_id)))


@bp.route("/courses", methods=["GET"])
@login_required
def list_courses() -> Any:
    courses = get_services().store.courses.list_for_owner(current_user.id)
    return jsonify([{"id": c.id, "name": c.name, "created_at": c.created_at} for c in courses])


@bp.route("/courses", methods=["POST"])
@login_required
def new_course() -> Any:
    body = request.get_json(silent=True) or {}
    name = body.get("name") if isinstance(body, dict) else None
    try:
        course = create_course(get_services().store, current_user.id, name if isinstance(name, str) else "")
    except CourseError as exc:
        return json_error(400, str(exc))
    return jsonify({"id": course.id, "name": course.name}), 201


@bp.route("/courses/<course_id>", methods=["GET"])
@login_required
def get_course(course_id: str) -> Any:
    course = owned_course(course_id)
    store = get_services().store
    docs = store.documents.list_for_course(course.id)
    return jsonify({
        "id": course.id,
        "name": course.name,
        "documents": [{"id": d.id, "name": d.display_name, "status": d.status, "error": translate_stored(d.error)}
                      for d in docs],
    })


@bp.route("/courses/<course_id>", methods=["DELETE"])
@login_required
def remove_course(course_id: str) -> Any:
    delete_course(get_services().store, owned_course(course_id))
    return "", 204
