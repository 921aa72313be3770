"""Ownership checks shared by every blueprint: someone else's thing is a 404, never a 403."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_login import current_user

from ..store.base import CourseStamp
from ..store.cards import Card, Deck
from ..store.models import Artifact, Course, Document, Job
from . import get_services

def _mine(record: Any) -> Any:
    """The record if the logged-in student owns it; a 404 otherwise."""
    if record is None or record.owner_id != current_user.id:
        abort(404)
    return record


def _owned(repo: Any, record_id: str) -> Any:
    return _mine(repo.get(record_id))


def owned_course(course_id: str) -> Course:
    return _owned(get_services().store.courses, course_id)  # type: ignore[no-any-return]


def owned_course_stamped(course_id: str) -> tuple[Course, CourseStamp]:
    """The course and its stamp (one read) if the logged-in student owns it; a 404 otherwise."""
    found = get_services().store.courses.get_stamped(course_id)
    if found is None:
        abort(404)
    _mine(found[0])
    return found


def owned_document(document_id: str) -> Document:
    return _owned(get_services().store.documents, document_id)  # type: ignore[no-any-return]


def owned_job(job_id: str) -> Job:
    return _owned(get_services().store.jobs, job_id)  # type: ignore[no-any-return]


def owned_artifact(artifact_id: str) -> Artifact:
    return _owned(get_services().store.artifacts, artifact_id)  # type: ignore[no-any-return]


def owned_deck(deck_id: str) -> Deck:
    return _owned(get_services().store.decks, deck_id)  # type: ignore[no-any-return]


def owned_card(card_id: str) -> Card:
    return _owned(get_services().store.cards, card_id)  # type: ignore[no-any-return]
