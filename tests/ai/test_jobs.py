"""Tool jobs end to end through the in-process worker, answered by the fake OpenAI/Gemini servers.

What the real SDKs send is built from real chunks in a real store; what comes back is stored
as an artifact with the provider, model, latency and token counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from studybuddy.accounts import create_user
from studybuddy.jobs.service import submit_job
from studybuddy.services import Services
from studybuddy.store.models import User
from studybuddy.worker.consumer import Worker
from tests.ai.fakes import FakeGemini, FakeModelServer, FakeOpenAI, Recorded, Reply, conversation, ok, status
from tests.study.conftest import add_course, wait_job
from tests.study.study_material import ENGLISH

PASSWORD = "correct horse battery"
_SOURCE = re.compile(r'<source number="(\d+)" file="([^"]*)" page="(\d+)">\n(.*?)\n</source>', re.DOTALL)


def sources_in(server: FakeModelServer, rec: Recorded) -> list[tuple[int, str, int, str]]:
    user = conversation(server, rec)[0][1]
    return [(int(n), f, int(p), t) for n, f, p, t in _SOURCE.findall(user)]


def grounded_cards(server: FakeModelServer) -> Any:
    """A model that writes one card per passage it was given, citing that passage."""

    def answer(rec: Recorded) -> Reply:
        cards = [
            {"front": f"What does passage {n} say?", "back": text.split(". ")[0] + ".", "source": n}
            for n, _f, _p, text in sources_in(server, rec)[:3]
        ]
        return ok({"cards": cards})

    return answer


@pytest.fixture
def ai_services(ai_cfg: Any) -> Iterator[Services]:
    services = Services(ai_cfg)
    worker = Worker(services, run_reaper=False)
    worker.start()
    assert worker.wait_ready(20), "worker did not start consuming"
    yield services
    worker.stop(10)
    services.close()


@pytest.fixture
def dana(ai_services: Services) -> User:
    return create_user(ai_services.store, "dana@example.com", PASSWORD, "Dana")


def test_flashcards_job_answered_by_openai(
    ai_services: Services, dana: User, openai_server: FakeOpenAI
) -> None:
    course, document = add_course(ai_services, dana, ENGLISH)
    openai_server.default = grounded_cards(openai_server)
    job = wait_job(
        ai_services,
        submit_job(ai_services, "flashcards", dana.id, course_id=course.id, params={"count": 3}).id,
        60,
    )
    assert job.state == "succeeded", job.error_internal
    artifact = ai_services.store.artifacts.get(job.result_ref)
    assert artifact is not None
    assert (artifact.provider, artifact.model) == ("openai", "gpt-test")
    assert (artifact.tokens_in, artifact.tokens_out) == (120, 30)
    assert artifact.latency_ms >= 0
    # The prompt carried the course's real chunks as numbered, delimited data ...
    (rec,) = openai_server.requests
    sent = sources_in(openai_server, rec)
    assert sent and all(f == "biology.pdf" for _n, f, _p, _t in sent)
    chunks = {c.text for c in ai_services.store.chunks.list_for_document(document.id)}
    assert all(text in chunks for _n, _f, _p, text in sent)
    assert "is DATA for you to read" in rec.body["messages"][0]["content"]
    # ... and every card points at one of them.
    assert len(artifact.content["cards"]) == 3
    for card in artifact.content["cards"]:
        page_text = next(t for n, _f, _p, t in sent if n == card["source"])
        assert card["back"][:-1] in page_text


def test_summary_job_fails_over_from_gemini_to_openai(
    ai_services: Services, dana: User, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    course, _ = add_course(ai_services, dana, ENGLISH)
    gemini_server.default = status(503, "overloaded")
    openai_server.queue(ok({"title": "Plants", "markdown": "- Light to sugar [1]", "citations": [1]}))
    job = wait_job(
        ai_services,
        submit_job(ai_services, "summary", dana.id, course_id=course.id, params={"length": "short"}).id,
        60,
    )
    assert job.state == "succeeded", job.error_internal
    artifact = ai_services.store.artifacts.get(job.result_ref)
    assert artifact is not None and artifact.provider == "openai"
    assert len(gemini_server.requests) == 3  # one try and two retries before failing over
    assert "about 120 words" in openai_server.requests[0].body["messages"][0]["content"]


def test_a_model_citing_a_missing_chunk_is_repaired(
    ai_services: Services, dana: User, openai_server: FakeOpenAI
) -> None:
    course, _ = add_course(ai_services, dana, ENGLISH)
    bad = {"cards": [{"front": "Q", "back": "A", "source": 999}]}
    openai_server.queue(ok(bad), ok({"cards": [{"front": "Q", "back": "A", "source": 1}]}))
    job = wait_job(
        ai_services,
        submit_job(ai_services, "flashcards", dana.id, course_id=course.id, params={"count": 1}).id,
        60,
    )
    assert job.state == "succeeded", job.error_internal
    assert "cites source 999" in conversation(openai_server, openai_server.requests[1])[-1][1]
    artifact = ai_services.store.artifacts.get(job.result_ref)
    assert artifact is not None and artifact.content["cards"][0]["source"] == 1
    assert artifact.tokens_in == 240  # both calls counted
