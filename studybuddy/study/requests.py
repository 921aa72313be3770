"""AI requests charged to a student's daily quota, each together with the job it pays for.

Charging and submitting are one unit: if the job (or anything made for it, such as the chat
message or a quiz attempt) cannot be queued, the charge is refunded and what was made for it is
removed. Views call these and turn `QuotaExceeded` into a refusal; they never refund by hand.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..ai import quota
from ..jobs.service import submit_job
from ..store.models import Artifact, Item, Job
from . import chat
from . import quiz as quizzes
from . import starter

if TYPE_CHECKING:
    from ..services import Services
    from ..store.models import Course

QuotaExceeded = quota.QuotaExceeded


@contextlib.contextmanager
def charged(services: Services, user: Any, count: int = 1) -> Iterator[None]:
    """Charge `count` AI requests (all or none: QuotaExceeded charges nothing), refunded if the
    body raises."""
    done = 0
    try:
        for _ in range(count):
            quota.check_and_count(services.store, services.config, user)
            done += 1
        yield
    except BaseException:
        for _ in range(done):
            quota.refund(services.store, services.config, user)
        raise


def submit_tool(services: Services, user: Any, tool: str, course_id: str, params: dict[str, Any]) -> Job:
    """One charged request for a study tool's job."""
    with charged(services, user):
        return submit_job(services, tool, user.id, course_id=course_id, params=params)


def ask(services: Services, user: Any, course: Course, conversation: Item | None,
        params: dict[str, Any]) -> tuple[Item, Job]:
    """A question to Avner: the conversation (new if none), the question in it, and the job that
    answers it. A failure leaves no message behind, and no conversation it started."""
    with charged(services, user):
        store = services.store
        started = conversation is None
        conversation = conversation or chat.start_conversation(store, user.id, course.id, params["question"])
        message = chat.add_message(store, conversation, "user", params["question"], simple=params["simple"])
        try:
            job = submit_job(services, "chat", user.id, course_id=course.id,
                             params={**params, "conversation_id": conversation.id, "message_id": message.id})
        except BaseException:
            store.items.delete(message.id)
            if started:
                store.items.delete(conversation.id)
            raise
        store.items.put(dataclasses.replace(message, data={**message.data, "job_id": job.id}))
        return conversation, job


def submit_attempt(services: Services, user: Any, course: Course, quiz: Artifact, answers: list[Any]) -> Item:
    """A quiz attempt: multiple choice graded now; open answers (if any) charged and sent to a
    grading job. A failure leaves no attempt behind."""
    needs_grading = any(q.get("type") == "open" and a for q, a in zip(quizzes.questions(quiz), answers))
    with charged(services, user, 1 if needs_grading else 0):
        attempt = quizzes.start_attempt(services.store, quiz, answers)
        if not attempt.data["pending"]:
            return attempt
        try:
            job = submit_job(services, "quiz_grade", user.id, course_id=course.id, params={"attempt_id": attempt.id})
        except BaseException:
            services.store.items.delete(attempt.id)
            raise
        return quizzes.set_attempt_job(services.store, attempt, job.id)


def make_starter(services: Services, user: Any, course: Course, language: str) -> list[Job]:
    """The starter summary and flashcards, one charged request each (all or none)."""
    with charged(services, user, len(starter.OFFER_KINDS)):
        return starter.make_starter(services, course, language)
