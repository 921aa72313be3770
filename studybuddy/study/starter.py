"""The starter pack: when the first document of an empty course is ready, a summary and a set of
flashcards, made at once (`ingest.starter_tools: make`) or offered on the course page ("offer")."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..jobs.service import submit_job
from ..store.models import Job

if TYPE_CHECKING:
    from ..services import Services
    from ..store.models import Course

log = logging.getLogger(__name__)

STARTER_JOBS = (("summary", {"length": "medium", "style": "bullets"}), ("flashcards", {"count": 10}))
OFFER_KINDS = ("summary", "flashcards")
# Any result of the course means it is not fresh (titles only: their content is not read).
RESULT_KINDS = ("summary", "flashcards", "quiz", "glossary", "homework", "chat", "study_guide", "faq", "mind_map")


def is_fresh(services: Services, course_id: str) -> bool:
    """The course has ready material, no study results and no study job under way."""
    store = services.store
    course = store.courses.get(course_id)
    if course is None or store.artifacts.list_recent(course_id, course.owner_id, RESULT_KINDS, 1):
        return False
    if not any(d.status == "ready" for d in store.documents.list_for_course(course_id)):
        return False
    jobs = store.jobs.list_for_owner(course.owner_id, course_id, limit=50) if course else []
    return not any(j.type in OFFER_KINDS and not j.finished for j in jobs)


def make_starter(services: Services, course: Course, language: str) -> list[Job]:
    """Queue the starter summary and flashcards of a course."""
    return [submit_job(services, tool, course.owner_id, course_id=course.id, params={**params, "language": language})
            for tool, params in STARTER_JOBS]


def after_first_document(services: Services, course_id: str, document_id: str) -> list[Job]:
    """Called when a document became ready: make the starter pack if the setting says so and this
    is the course's only ready document."""
    if services.config.ingest.starter_tools != "make":
        return []
    store = services.store
    ready = [d for d in store.documents.list_for_course(course_id) if d.status == "ready"]
    course = store.courses.get(course_id)
    if course is None or [d.id for d in ready] != [document_id] or not is_fresh(services, course_id):
        return []
    owner = store.users.get(course.owner_id)
    language = (owner.language if owner and owner.language else services.config.app.default_language)
    jobs = make_starter(services, course, language)
    log.info("starter summary and flashcards queued for course %s", course_id)
    return jobs
