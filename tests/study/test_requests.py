"""Charged requests: the quota charge and the job are one unit; a failure refunds and leaves nothing."""

from __future__ import annotations

from typing import Any

import pytest

from studybuddy.services import Services
from studybuddy.store import StoreError
from studybuddy.store.models import Artifact, User, new_id
from studybuddy.study import chat, quiz, requests
from tests.study.conftest import add_course
from tests.study.study_material import ENGLISH


@pytest.fixture
def limited(services: Services) -> Services:
    services.config = services.config.replace(quota={"daily_ai_requests": 3})
    return services


def used(services: Services, user: User) -> int:
    from studybuddy.ai.quota import usage

    return usage(services.store, services.config, user).used


@pytest.fixture
def no_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The job cannot be queued (the store refuses the job record)."""
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise StoreError("the store is not answering")

    monkeypatch.setattr(requests, "submit_job", refuse)
    monkeypatch.setattr(requests.starter, "submit_job", refuse)


def test_a_tool_request_is_charged_once_and_refunded_when_its_job_cannot_be_queued(
        limited: Services, users: dict[str, User], monkeypatch: pytest.MonkeyPatch) -> None:
    alice = users["alice"]
    course, _ = add_course(limited, alice, ENGLISH)
    job = requests.submit_tool(limited, alice, "summary", course.id, {"language": "en"})
    assert job.owner_id == alice.id and used(limited, alice) == 1
    monkeypatch.setattr(requests, "submit_job", lambda *a, **k: (_ for _ in ()).throw(StoreError("down")))
    with pytest.raises(StoreError):
        requests.submit_tool(limited, alice, "summary", course.id, {"language": "en"})
    assert used(limited, alice) == 1


def test_a_question_that_cannot_be_queued_leaves_no_message_and_no_new_conversation(
        limited: Services, users: dict[str, User], no_jobs: None) -> None:
    alice = users["alice"]
    course, _ = add_course(limited, alice, ENGLISH)
    params = {"question": "What is chlorophyll?", "simple": False, "language": "en"}
    with pytest.raises(StoreError):
        requests.ask(limited, alice, course, None, params)
    assert chat.conversations(limited.store, alice.id, course.id) == []
    assert limited.store.items.find(chat.MESSAGE, owner_id=alice.id) == []
    assert used(limited, alice) == 0
    # In a conversation that exists, it stays, with only what it had.
    kept = chat.start_conversation(limited.store, alice.id, course.id, "earlier")
    chat.add_message(limited.store, kept, "user", "earlier")
    with pytest.raises(StoreError):
        requests.ask(limited, alice, course, kept, params)
    assert [c.id for c in chat.conversations(limited.store, alice.id, course.id)] == [kept.id]
    assert [m.data["text"] for m in chat.messages(limited.store, kept)] == ["earlier"]
    assert used(limited, alice) == 0


def test_a_question_is_one_charged_message_with_its_job(limited: Services, users: dict[str, User]) -> None:
    alice = users["alice"]
    course, _ = add_course(limited, alice, ENGLISH)
    conversation, job = requests.ask(limited, alice, course, None,
                                     {"question": "What is chlorophyll?", "simple": False, "language": "en"})
    [message] = chat.messages(limited.store, conversation)
    assert message.data["job_id"] == job.id and job.params["message_id"] == message.id
    assert job.params["conversation_id"] == conversation.id and used(limited, alice) == 1


def _quiz(services: Services, owner: User, course_id: str) -> Artifact:
    return services.store.artifacts.add(Artifact(
        id=new_id(), owner_id=owner.id, course_id=course_id, kind="quiz", content={"questions": [
            {"type": "mc", "question": "Which?", "options": ["a", "b"], "correct": 0},
            {"type": "open", "question": "Why?", "answer": "Because."},
        ]}))


def test_an_open_answer_is_charged_and_a_failed_grading_job_leaves_no_attempt(
        limited: Services, users: dict[str, User], monkeypatch: pytest.MonkeyPatch) -> None:
    alice = users["alice"]
    course, _ = add_course(limited, alice, ENGLISH)
    artifact = _quiz(limited, alice, course.id)
    graded_now = requests.submit_attempt(limited, alice, course, artifact, [0, None])
    assert not graded_now.data["pending"] and used(limited, alice) == 0  # nothing to grade: free
    pending = requests.submit_attempt(limited, alice, course, artifact, [1, "Light"])
    assert pending.data["pending"] and pending.data["job_id"] and used(limited, alice) == 1
    monkeypatch.setattr(requests, "submit_job", lambda *a, **k: (_ for _ in ()).throw(StoreError("down")))
    with pytest.raises(StoreError):
        requests.submit_attempt(limited, alice, course, artifact, [1, "Water"])
    assert {a.id for a in quiz.attempts(limited.store, artifact)} == {graded_now.id, pending.id}
    assert used(limited, alice) == 1


def test_the_starter_pack_is_charged_all_or_nothing(limited: Services, users: dict[str, User]) -> None:
    alice = users["alice"]
    course, _ = add_course(limited, alice, ENGLISH)
    requests.submit_tool(limited, alice, "summary", course.id, {"language": "en"})
    requests.submit_tool(limited, alice, "summary", course.id, {"language": "en"})
    before = len(limited.store.jobs.list_for_owner(alice.id))
    with pytest.raises(requests.QuotaExceeded):  # two needed, one left
        requests.make_starter(limited, alice, course, "en")
    assert used(limited, alice) == 2 and len(limited.store.jobs.list_for_owner(alice.id)) == before


def test_a_starter_pack_that_cannot_be_queued_is_refunded(limited: Services, users: dict[str, User],
                                                          no_jobs: None) -> None:
    alice = users["alice"]
    course, _ = add_course(limited, alice, ENGLISH)
    with pytest.raises(StoreError):
        requests.make_starter(limited, alice, course, "en")
    assert used(limited, alice) == 0
