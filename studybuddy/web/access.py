"""Ownership checks shared by every blueprint: someone else's thing is a 404, never a 403."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from ..store.models import Artifact, Course, Document, Job
from . import get_services


def owned_course(course_id: str) -> Course:
    course = get_services().store.courses.get(course_id)
    if course is None or course.owner_id != current_user.id:
        abort(404)
    return course


def owned_document(document_id: str) -> Document:
    document = get_services().store.documents.get(document_id)
    if document is None or document.owner_id != current_user.id:
        abort(404)
    return document


def owned_job(job_id: str) -> Job:
    job = get_services().store.jobs.get(job_id)
    if job is None or job.owner_id != current_user.id:
        abort(404)
    return job


def owned_artifact(artifact_id: str) -> Artifact:
    artifact = get_services().store.artifacts.get(artifact_id)
    if artifact is None or artifact.owner_id != current_user.id:
        abort(404)
    return artifact
