"""The ownership matrix: every route that takes an id, tried by bob with alice's real ids.

alice makes one of everything through the app itself (a course with a ready document, a summary,
a quiz and an attempt, a conversation with an answer). Then for every URL rule that takes an id:
bob asks with all of alice's ids, and again from his own course with alice's other ids; every
answer must be 404 and nothing of alice's may change. alice then opens the same URLs: they are
found (not 404), so bob's 404 came from the ownership check and not from a bad id. A rule with an
argument the matrix does not know fails the test until a value is added here.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from studybuddy import sessions
from studybuddy.courses import create_course
from studybuddy.jobs import submit_job
from studybuddy.services import Services
from studybuddy.store.cards import Card, Deck
from studybuddy.store.models import Artifact, Page, new_id
from studybuddy.study import chat, quiz
from studybuddy.worker.consumer import Worker
from tests.study.conftest import add_course, wait_job
from tests.study.study_material import ENGLISH

from ..conftest import csrf_token, login

NOT_OWNED = {"static", "main.set_language",
             # A signed link is its own credential (tests/web/test_account_mail.py).
             "auth.reset", "auth.verify"}
# The administrator's console has a matrix of its own: tests/web/test_admin.py.
ADMIN_ONLY = "admin."
# Routes that take an artifact id want a particular kind of artifact.
ARTIFACT_KIND = {"tools.take_quiz": "quiz", "tools.submit_quiz": "quiz", "tools.message_fragment": "chat"}
# Run last in the positive control, each on a spare course, because they remove things.
DESTRUCTIVE = ("courses.delete", "api.remove_course", "documents.delete_form", "documents.delete_api", "work.delete",
               "decks.delete", "decks.delete_card")


@pytest.fixture
def worker(services: Services) -> Iterator[Worker]:
    running = Worker(services, run_reaper=False)
    running.start()
    assert running.wait_ready(20), "worker did not start consuming"
    yield running
    running.stop(10)


def _post(client: Any, url: str, **data: Any) -> Any:
    return client.post(url, data={**data, "csrf_token": csrf_token(client)})


def _job_of(response: Any) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


@pytest.fixture
def world(client: Any, services: Services, users: Any, worker: Worker) -> dict[str, Any]:
    """alice's things, made through the app, and bob's own course."""
    store = services.store
    alice, bob = users["alice"], users["bob"]
    course, document = add_course(services, alice, ENGLISH, name="Alice's biology")
    store.pages.replace_for_document(document.id, [Page(document_id=document.id, number=i + 1, text=text)
                                                   for i, text in enumerate(ENGLISH)])
    document = store.documents.update(document.id, blob_id=store.blobs.put("\n".join(ENGLISH).encode()))
    login(client, alice.email)
    summary = wait_job(services, _job_of(_post(client, f"/courses/{course.id}/tools/summary", language="en")))
    quiz_job = wait_job(services, _job_of(_post(client, f"/courses/{course.id}/tools/quiz", count="2", kind="mc",
                                                language="en")))
    attempt = _post(client, f"/quizzes/{quiz_job.result_ref}/attempts", q0="0", q1="0")
    assert attempt.status_code == 302
    asked = _post(client, f"/courses/{course.id}/chat", question="What is chlorophyll?")
    assert asked.status_code == 302
    conversation = chat.conversations(store, alice.id, course.id)[0]
    chat_job = [j for j in store.jobs.list_for_owner(alice.id) if j.type == "chat"][0]
    chat_job = wait_job(services, chat_job.id)
    for job in (summary, quiz_job, chat_job):
        assert job.state == "succeeded", job.error_internal
    assert quiz.attempts(store, store.artifacts.get(quiz_job.result_ref))
    pending = submit_job(services, "ping", alice.id, course_id=course.id, params={"queue": "assess"})
    # Let the worker finish it now: finishing during bob's requests would look like a change he made.
    pending = wait_job(services, pending.id)
    deck, card = _deck_with_card(store, alice.id, course.id)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    return {
        "alice": alice, "bob": bob, "course": course, "document": document, "job": pending,
        "artifacts": {"summary": summary.result_ref, "quiz": quiz_job.result_ref, "chat": chat_job.result_ref},
        "attempt": attempt.headers["Location"].rsplit("/", 1)[-1], "conversation": conversation.id,
        "bobs_course": create_course(store, bob.id, "הקורס של בוב"), "deck": deck, "card": card,
        "session": sessions.start(store, services.config, alice, remember=True, now=time.time()).record.id,
    }


def _deck_with_card(store: Any, owner_id: str, course_id: str) -> tuple[Any, Any]:
    deck = store.decks.add(Deck(id=new_id(), owner_id=owner_id, course_id=course_id, name="Alice's deck"))
    card = store.cards.add(Card(id=new_id(), owner_id=owner_id, course_id=course_id, deck_id=deck.id,
                                front="Alice's question", back="Alice's answer"))
    return deck, card


def _values(world: dict[str, Any], endpoint: str, arguments: set[str]) -> dict[str, Any]:
    known = {
        "course_id": world["course"].id,
        "document_id": world["document"].id,
        "job_id": world["job"].id,
        "artifact_id": world["artifacts"][ARTIFACT_KIND.get(endpoint, "summary")],
        "attempt_id": world["attempt"],
        "conversation_id": world["conversation"],
        "session_id": world["session"],
        "number": 1,
        "tool": "summary",
        "deck_id": world["deck"].id,
        "card_id": world["card"].id,
        "fmt": "csv",
    }
    unknown = arguments - known.keys()
    assert not unknown, f"{endpoint}: the ownership matrix has no value for {sorted(unknown)}; add one"
    return {name: known[name] for name in arguments}


def _routes(app: Any) -> list[tuple[str, str, set[str]]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_OWNED or rule.endpoint.startswith(ADMIN_ONLY) or not rule.arguments:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):  # type: ignore[operator]
            found.append((rule.endpoint, method, set(rule.arguments)))
    return found


def _url(app: Any, endpoint: str, values: dict[str, Any]) -> str:
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


def _request(client: Any, method: str, url: str) -> Any:
    token = csrf_token(client)
    kwargs: dict[str, Any] = {"headers": {"X-CSRF-Token": token}}
    if method != "GET":
        kwargs["data"] = {"csrf_token": token, "name": "bob was here", "question": "hi", "q0": "0",
                          "text": "bob was here", "title": "bob"}
    return client.open(url, method=method, **kwargs)


def _snapshot(store: Any, world: dict[str, Any]) -> str:
    """A digest of everything alice owns, to show that bob's requests changed nothing."""
    alice, course = world["alice"], world["course"]
    parts: list[Any] = [store.courses.get(course.id), store.documents.list_for_course(course.id),
                        sorted(store.jobs.list_for_owner(alice.id), key=lambda j: j.id),
                        store.artifacts.list_for_course(course.id), store.pages.list_for_document(world["document"].id)]
    parts += [store.decks.list_for_owner(alice.id), store.cards.list_for_owner(alice.id)]
    for kind in ("quiz_attempt", "chat_conversation", "chat_message"):
        parts.append(sorted(store.items.find(kind, owner_id=alice.id), key=lambda i: i.id))
    return hashlib.sha256(json.dumps(parts, default=repr, sort_keys=True).encode()).hexdigest()


def test_bob_gets_404_on_every_route_for_alices_ids_and_alice_does_not(client: Any, app: Any, world: Any,
                                                                      services: Services) -> None:
    store = services.store
    routes = _routes(app)
    assert len(routes) >= 25
    before = _snapshot(store, world)
    login(client, world["bob"].email)
    tried = 0
    for endpoint, method, arguments in routes:
        values = _values(world, endpoint, arguments)
        variants = [values]
        if "course_id" in arguments and len(arguments - {"tool", "fmt"}) > 1:
            variants.append({**values, "course_id": world["bobs_course"].id})  # his own course, her other ids
        for variant in variants:
            url = _url(app, endpoint, variant)
            response = _request(client, method, url)
            assert response.status_code == 404, (method, url, response.status_code)
            assert world["alice"].display_name not in response.get_data(as_text=True)
            tried += 1
    assert _snapshot(store, world) == before, "bob's requests changed alice's things"
    assert [j.owner_id for j in store.jobs.list_for_owner(world["bob"].id)] == []
    assert [c["id"] for c in client.get("/api/v1/courses").get_json()] == [world["bobs_course"].id]
    assert tried > len(routes)

    # The positive control: alice reaches every one of the same URLs.
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, world["alice"].email)
    ordered = sorted(routes, key=lambda r: (r[0] in DESTRUCTIVE, r[1] != "GET", r[0]))
    for endpoint, method, arguments in ordered:
        values = _values(world, endpoint, arguments)
        if endpoint in DESTRUCTIVE:  # each removal gets its own course and document of alice's
            spare_course, spare_document = add_course(services, world["alice"], ENGLISH, name="spare")
            spare_deck, spare_card = _deck_with_card(store, world["alice"].id, spare_course.id)
            spare_result = store.artifacts.add(Artifact(id=new_id(), owner_id=world["alice"].id,
                                                        course_id=spare_course.id, kind="summary",
                                                        content={"markdown": "spare"}, title="spare"))
            values.update({k: v for k, v in (("course_id", spare_course.id), ("document_id", spare_document.id),
                                             ("deck_id", spare_deck.id), ("card_id", spare_card.id),
                                             ("artifact_id", spare_result.id))
                           if k in arguments})
        url = _url(app, endpoint, values)
        response = _request(client, method, url)
        assert response.status_code != 404 and response.status_code < 500, (method, url, response.status_code)


def test_anonymous_visitors_are_sent_to_log_in(client: Any, users: Any, services: Services) -> None:
    course = create_course(services.store, users["alice"].id, "הקורס של אליס")
    job = submit_job(services, "ping", users["alice"].id, course_id=course.id, params={"queue": "assess"})
    r = client.get(f"/courses/{course.id}")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    r = client.get(f"/api/v1/jobs/{job.id}")
    assert r.status_code == 401 and r.is_json
