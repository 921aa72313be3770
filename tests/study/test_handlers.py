"""Tool jobs end to end: real SQLite, the in-process worker on the memory broker, the local provider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from studybuddy.config import Config
from studybuddy.services import Services
from studybuddy.store.models import Job, User
from studybuddy.study import chat, glossary, quiz
from studybuddy.ai.offline import text as tk
from studybuddy.study.citations import resolve_citations
from tests.study.conftest import ENGLISH, add_course, wait_job


def artifact_of(services: Services, job: Job) -> Any:
    assert job.state == "succeeded", (job.state, job.error_user, job.error_internal)
    artifact = services.store.artifacts.get(job.result_ref)
    assert artifact is not None and artifact.job_id == job.id
    return artifact


def assert_sources_are_real(services: Services, artifact: Any, course_id: str) -> None:
    for source in artifact.content["sources"]:
        chunk = services.store.chunks.get(source["chunk_id"])
        assert chunk is not None and chunk.course_id == course_id and chunk.page == source["page"]


def test_summary_job_stores_a_cited_artifact(services: Services, users: dict[str, User], english_course: Any,
                                             run_job: Callable[..., Job]) -> None:
    course, document = english_course
    job = run_job("summary", users["alice"], course.id, length="short", style="bullets", language="en")
    artifact = artifact_of(services, job)
    assert artifact.kind == "summary" and artifact.provider == "local" and artifact.model
    assert artifact.course_id == course.id and artifact.owner_id == users["alice"].id
    assert artifact.content["citations"]
    assert_sources_are_real(services, artifact, course.id)
    cites = resolve_citations(services.store, artifact.content["sources"], users["alice"].id)
    first = cites[artifact.content["citations"][0]]
    assert first.url == f"/documents/{document.id}/file#page={first.page}"
    assert services.store.jobs.get(job.id).progress >= 90


def test_flashcards_cite_real_chunks_that_hold_the_answer(services: Services, users: dict[str, User],
                                                          hebrew_course: Any, run_job: Callable[..., Job]) -> None:
    course, document = hebrew_course
    job = run_job("flashcards", users["alice"], course.id, count=6, language="he")
    artifact = artifact_of(services, job)
    cards = artifact.content["cards"]
    assert len(cards) == 6
    by_number = {s["number"]: s for s in artifact.content["sources"]}
    for card in cards:
        chunk = services.store.chunks.get(by_number[card["source"]]["chunk_id"])
        assert tk.contains_phrase(chunk.text, card["back"])
    cites = resolve_citations(services.store, artifact.content["sources"], users["alice"].id)
    assert cites[cards[0]["source"]].url.startswith(f"/documents/{document.id}/pages/")


def test_a_document_scope_reads_only_that_document(services: Services, users: dict[str, User],
                                                   english_course: Any, run_job: Callable[..., Job]) -> None:
    course, document = english_course
    from tests.study.study_material import HEBREW
    other = add_course(services, users["alice"], HEBREW)[1]
    services.store.documents.update(other.id, course_id=course.id)
    job = run_job("glossary", users["alice"], course.id, document_id=document.id, language="en")
    artifact = artifact_of(services, job)
    assert {s["document_id"] for s in artifact.content["sources"]} == {document.id}
    assert artifact.document_id == document.id


def test_empty_course_fails_with_a_clear_message(services: Services, users: dict[str, User],
                                                 run_job: Callable[..., Job]) -> None:
    course, _ = add_course(services, users["alice"], ["x"], status="processing")
    for tool in ("summary", "flashcards", "quiz", "glossary"):
        job = run_job(tool, users["alice"], course.id)
        assert job.state == "failed" and job.error_user == "This course has no ready material yet"
        assert job.attempts == 1


def test_bad_parameters_fail_at_once(services: Services, users: dict[str, User], english_course: Any,
                                     run_job: Callable[..., Job]) -> None:
    course, _ = english_course
    job = run_job("flashcards", users["alice"], course.id, count=500)
    assert job.state == "failed" and "from 1 to 50" in job.error_user
    job = run_job("homework", users["alice"], course.id, problem="x" * 20_000)
    assert job.state == "failed" and "too long" in job.error_user
    assert not services.store.artifacts.list_for_course(course.id)


def test_too_little_text_says_so(services: Services, users: dict[str, User], run_job: Callable[..., Job]) -> None:
    course, _ = add_course(services, users["alice"], ["Hello."])
    job = run_job("flashcards", users["alice"], course.id)
    assert job.state == "failed" and "too little text" in job.error_user


def test_quiz_attempt_grades_mc_exactly_and_open_answers_approximately(
        services: Services, users: dict[str, User], english_course: Any, run_job: Callable[..., Job]) -> None:
    course, _ = english_course
    alice = users["alice"]
    mc = artifact_of(services, run_job("quiz", alice, course.id, count=4, kind="mc", language="en"))
    questions = quiz.questions(mc)
    answers = quiz.parse_answers(mc, {"q0": str(questions[0]["correct"]),
                                      "q1": str((questions[1]["correct"] + 1) % len(questions[1]["options"]))}, 4000)
    attempt = quiz.start_attempt(services.store, mc, answers)
    results = attempt.data["results"]
    assert results[0]["correct"] is True and results[1]["correct"] is False and results[2]["score"] == 0.0
    assert attempt.data["score"] == 0.25 and attempt.data["pending"] is False

    open_quiz = artifact_of(services, run_job("quiz", alice, course.id, count=2, kind="open", language="en"))
    first = quiz.questions(open_quiz)[0]
    attempt = quiz.start_attempt(services.store, open_quiz, [first["answer"], "no idea at all"])
    assert attempt.data["pending"] is True and attempt.data["score"] is None
    job = run_job("quiz_grade", alice, course.id, attempt_id=attempt.id)
    assert job.state == "succeeded", job.error_internal
    graded = services.store.items.get(attempt.id).data
    assert graded["pending"] is False and graded["results"][0]["approximate"] is True
    assert graded["results"][0]["score"] > graded["results"][1]["score"]
    assert graded["results"][0]["feedback"]


def test_quiz_grade_refuses_someone_elses_attempt(services: Services, users: dict[str, User],
                                                 english_course: Any, run_job: Callable[..., Job]) -> None:
    course, _ = english_course
    open_quiz = artifact_of(services, run_job("quiz", users["alice"], course.id, count=1, kind="open"))
    attempt = quiz.start_attempt(services.store, open_quiz, ["something"])
    job = run_job("quiz_grade", users["bob"], course.id, attempt_id=attempt.id)
    assert job.state == "failed" and "no longer exists" in job.error_user
    assert services.store.items.get(attempt.id).data["pending"] is True


def test_glossary_terms_are_searchable(services: Services, users: dict[str, User], hebrew_course: Any,
                                       run_job: Callable[..., Job]) -> None:
    course, _ = hebrew_course
    artifact_of(services, run_job("glossary", users["alice"], course.id, count=10, language="he"))
    terms = glossary.course_terms(services.store, course.id, users["alice"].id)
    assert {"כלורופיל", "פיוניות"} <= {t.term for t in terms}
    found = glossary.search(terms, "הכלורופיל")  # with the definite-article prefix
    assert found and found[0].term == "כלורופיל"
    assert found[0].citation is not None and found[0].citation.page == 2
    assert glossary.search(terms, "zzzz") == []
    assert glossary.course_terms(services.store, course.id, users["bob"].id) == []


def test_chat_answers_in_the_conversation_with_citations(services: Services, users: dict[str, User],
                                                         english_course: Any, run_job: Callable[..., Job]) -> None:
    course, _ = english_course
    alice = users["alice"]
    conversation = chat.start_conversation(services.store, alice.id, course.id, "Why close stomata?")
    message = chat.add_message(services.store, conversation, "user", "Why do plants close their stomata?")
    job = run_job("chat", alice, course.id, conversation_id=conversation.id, message_id=message.id,
                  question="Why do plants close their stomata?", language="en")
    artifact = artifact_of(services, job)
    assert not artifact.content["off_topic"] and artifact.content["citations"]
    assert_sources_are_real(services, artifact, course.id)
    thread = chat.messages(services.store, conversation)
    assert [m.data["role"] for m in thread] == ["user", "assistant"]
    assert thread[1].data["artifact_id"] == artifact.id and "save water" in thread[1].data["text"]

    job = run_job("chat", alice, course.id, conversation_id=conversation.id, question="Who won the 1986 world cup?",
                  language="en")
    assert artifact_of(services, job).content["off_topic"] is True


def test_chat_in_a_foreign_conversation_fails(services: Services, users: dict[str, User], english_course: Any,
                                              run_job: Callable[..., Job]) -> None:
    course, _ = english_course
    conversation = chat.start_conversation(services.store, users["alice"].id, course.id, "hi")
    job = run_job("chat", users["bob"], course.id, conversation_id=conversation.id, question="hello")
    assert job.state == "failed"


def test_chat_cannot_borrow_a_conversation_from_another_student_or_course(
        services: Services, users: dict[str, User], english_course: Any, run_job: Callable[..., Job]) -> None:
    """Bob in his own course, and alice in another of her courses, name alice's conversation id."""
    course, _ = english_course
    alice, bob = users["alice"], users["bob"]
    conversation = chat.start_conversation(services.store, alice.id, course.id, "hi")
    bobs_course, _ = add_course(services, bob, ENGLISH, name="Bob's biology")
    alices_other, _ = add_course(services, alice, ENGLISH, name="Alice's other course")
    for owner, course_id in ((bob, bobs_course.id), (alice, alices_other.id)):
        job = run_job("chat", owner, course_id, conversation_id=conversation.id, question="Why close stomata?",
                      language="en")
        assert job.state == "failed" and "no longer exists" in job.error_user, (owner.email, job.error_user)
    assert chat.messages(services.store, conversation) == []
    # The positive control: alice in the conversation's own course is answered there.
    job = run_job("chat", alice, course.id, conversation_id=conversation.id, question="Why close stomata?",
                  language="en")
    assert job.state == "succeeded"
    assert [m.data["role"] for m in chat.messages(services.store, conversation)] == ["assistant"]


def test_homework_job_is_grounded(services: Services, users: dict[str, User], english_course: Any,
                                  run_job: Callable[..., Job]) -> None:
    course, _ = english_course
    job = run_job("homework", users["alice"], course.id, language="en",
                  problem="Explain how limiting factors affect photosynthesis in a greenhouse.")
    artifact = artifact_of(services, job)
    assert artifact.content["citations"] and len(artifact.content["steps"]) >= 4
    assert_sources_are_real(services, artifact, course.id)


def _services_with(cfg: Config, **ai: Any) -> Services:
    return Services(cfg.replace(ai=ai))


@pytest.mark.parametrize("order, expected", [(["openai", "local"], "succeeded"), (["openai"], "failed")])
def test_failover_to_local_and_all_providers_down(cfg: Config, users: dict[str, User], order: list[str],
                                                  expected: str) -> None:
    """openai is configured but unreachable (a closed local port): local answers when listed."""
    from studybuddy.accounts import create_user
    from studybuddy.jobs.service import submit_job
    from studybuddy.worker.consumer import Worker
    from tests.study.study_material import ENGLISH

    services = _services_with(cfg, openai_api_key="sk-test", openai_base_url="http://127.0.0.1:9/v1",
                              summary=order, max_retries=0, timeout_seconds=2.0)
    try:
        dana = create_user(services.store, "dana@example.com", "correct horse battery", "Dana")
        course, _ = add_course(services, dana, ENGLISH)
        worker = Worker(services, run_reaper=False)
        worker.start()
        assert worker.wait_ready(20)
        try:
            job = wait_job(services, submit_job(services, "summary", dana.id, course_id=course.id).id, 60)
        finally:
            worker.stop(10)
        assert job.state == expected, job.error_internal
        if expected == "failed":
            assert job.error_user == "AI providers are unavailable right now, try again later"
        else:
            assert services.store.artifacts.get(job.result_ref).provider == "local"
    finally:
        services.close()


def test_tools_on_the_mongodb_store(cfg: Config) -> None:
    """Chat, quiz attempts and the glossary through the in-process worker on MongoDB (mongomock)."""
    import mongomock
    import mongomock.gridfs

    from studybuddy.jobs.service import submit_job
    from studybuddy.store.mongo import MongoStore
    from studybuddy.worker.consumer import Worker
    from tests.study.study_material import HEBREW

    mongomock.gridfs.enable_gridfs_integration()
    store = MongoStore("mongodb://localhost/studybuddy_tools", client=mongomock.MongoClient())
    services = Services(cfg, store=store)
    worker = Worker(services, run_reaper=False)
    worker.start()
    try:
        assert worker.wait_ready(20)
        from studybuddy.accounts import create_user

        noa = create_user(store, "noa@example.com", "correct horse battery", "נועה")
        course, _ = add_course(services, noa, HEBREW)

        def run(job_type: str, **params: Any) -> Job:
            return wait_job(services, submit_job(services, job_type, noa.id, course_id=course.id, params=params).id)

        conversation = chat.start_conversation(store, noa.id, course.id, "מה זה כלורופיל?")
        chat.add_message(store, conversation, "user", "מה זה כלורופיל?")
        answer = artifact_of(services, run("chat", conversation_id=conversation.id, question="מה זה כלורופיל?"))
        assert [m.data["role"] for m in chat.messages(store, conversation)] == ["user", "assistant"]
        pages = {src["number"]: src["page"] for src in answer.content["sources"]}
        assert [pages[n] for n in answer.content["citations"]] == [2]  # the chlorophyll passage

        open_quiz = artifact_of(services, run("quiz", count=1, kind="open"))
        attempt = quiz.start_attempt(store, open_quiz, [quiz.questions(open_quiz)[0]["answer"]])
        assert run("quiz_grade", attempt_id=attempt.id).state == "succeeded"
        assert store.items.get(attempt.id).data["results"][0]["score"] >= 0.9

        artifact_of(services, run("glossary", count=5))
        assert glossary.search(glossary.course_terms(store, course.id, noa.id), "כלורופיל")
    finally:
        worker.stop(10)
        services.close()
