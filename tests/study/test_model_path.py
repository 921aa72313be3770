"""The study tools with a model configured: the real openai SDK against the fake OpenAI server
(tests/ai/fakes.py), whose recorded requests show what each prompt carried."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from studybuddy.config import Config
from studybuddy.ingest.upload import accept_text
from studybuddy.jobs.service import submit_job
from studybuddy.services import Services
from studybuddy.store.models import Course, Job, User, new_id
from studybuddy.study import chat
from studybuddy.worker.handlers import default_handlers
from studybuddy.worker.runner import process_job
from tests.ai.fakes import FakeOpenAI, Recorded, Reply, ok, status
from tests.conftest import login, make_config

NOTES = """# Lecture 5: Photosynthesis
## Light reactions
Photosynthesis is the process by which green plants turn light energy into chemical energy stored in glucose.
It takes place in the chloroplasts of leaf cells, where chlorophyll absorbs red and blue light.
The light reactions happen in the thylakoid membranes and produce ATP and NADPH for the Calvin cycle.
## Gas exchange
Stomata: small pores on the leaf surface that let carbon dioxide in and oxygen out.
Guard cells are pairs of curved cells that open and close each stoma.
Plants close their stomata on hot, dry days to save water, which also slows down photosynthesis.
## Transport
The xylem is the tissue that carries water and minerals from the roots to the leaves.
The phloem is the tissue that carries sugars from the leaves to the rest of the plant.
"""


def system_of(rec: Recorded) -> str:
    return "\n".join(m["content"] for m in rec.body["messages"] if m["role"] == "system")


def user_of(rec: Recorded) -> str:
    return [m["content"] for m in rec.body["messages"] if m["role"] == "user"][0]


def sources_in(rec: Recorded) -> list[str]:
    return re.findall(r"<source [^>]*>\n(.*?)\n</source>", user_of(rec), re.DOTALL)


def answer(rec: Recorded) -> Reply:
    """A model that answers every tool validly: translations, chat and homework."""
    system = system_of(rec)
    cited = [1] if "<source " in user_of(rec) else []
    if "Task: translate" in system:
        return ok({"text": "What do guard cells do?"})
    if "Task: help the student with the homework" in system:
        return ok({"markdown": "Step 1: 3x = 20 - 5 = 15. Step 2: x = 15 / 3 = 5.",
                   "steps": ["3x = 20 - 5 = 15", "x = 15 / 3 = 5"], "citations": cited})
    return ok({"markdown": "Guard cells open and close the stomata [1]." if cited else "Not in your notes.",
               "citations": cited, "off_topic": False})


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    fake.default = answer
    yield fake
    fake.close()


def model_config(tmp_path: Path, server: FakeOpenAI, **ai: Any) -> Config:
    return make_config(tmp_path, ingest={"chunk_words": 40, "chunk_overlap_words": 15}, ai={
        "openai_api_key": "sk-test", "openai_base_url": f"{server.url}/v1", "timeout_seconds": 5.0,
        "max_retries": 0, "embeddings": "openai", **{t: ["openai", "local"] for t in (
            "chat", "homework", "quiz", "summary", "flashcards", "glossary")}, **ai})


@pytest.fixture
def model_services(tmp_path: Path, server: FakeOpenAI) -> Iterator[Services]:
    services = Services(model_config(tmp_path, server))
    yield services
    services.close()


def run(services: Services, job: Job) -> Job:
    assert process_job(services, job.id, "test-worker", default_handlers()) == "succeeded", \
        services.store.jobs.get(job.id)
    done = services.store.jobs.get(job.id)
    assert done is not None
    return done


def english_course(services: Services, owner: User) -> Course:
    course = services.store.courses.add(Course(id=new_id(), owner_id=owner.id, name="Biology"))
    document = accept_text(services, course, "Lecture 5", NOTES)
    run(services, services.store.jobs.get(document.job_id))  # type: ignore[arg-type]
    return course


def ask(services: Services, owner: User, course: Course, question: str, language: str = "he") -> Any:
    conversation = chat.start_conversation(services.store, owner.id, course.id, question)
    message = chat.add_message(services.store, conversation, "user", question)
    job = submit_job(services, "chat", owner.id, course_id=course.id, params={
        "question": question, "language": language, "conversation_id": conversation.id, "message_id": message.id})
    run(services, job)
    return conversation


def test_a_hebrew_question_on_english_notes_carries_the_english_passage(
        model_services: Services, users: dict[str, User], server: FakeOpenAI) -> None:
    course = english_course(model_services, users["alice"])
    assert server.embedding_requests, "the chunks were embedded at ingest"
    ask(model_services, users["alice"], course, "מה עושים תאי השמירה?")
    translate = [r for r in server.requests if "Task: translate" in system_of(r)]
    assert len(translate) == 1 and "<question>\nמה עושים תאי השמירה?\n</question>" in user_of(translate[0])
    (request,) = [r for r in server.requests if "Task: answer the student's question" in system_of(r)]
    assert any("Guard cells are pairs of curved cells" in s for s in sources_in(request))
    assert "Keep the answer short" in system_of(request)


def test_a_hebrew_question_finds_english_notes_by_embeddings_alone(
        tmp_path: Path, users: dict[str, User], server: FakeOpenAI) -> None:
    # The test model's cosine scale is its own (a bag of concepts): its floor is set for it.
    services = Services(model_config(tmp_path, server, translate_queries=False, embedding_min_similarity=0.2))
    try:
        course = english_course(services, users["alice"])
        ask(services, users["alice"], course, "מה עושים תאי השמירה?")
        assert not [r for r in server.requests if "Task: translate" in system_of(r)]
        (request,) = [r for r in server.requests if "Task: answer" in system_of(r)]
        assert any("Guard cells are pairs" in s for s in sources_in(request))
    finally:
        services.close()


def homework_request(services: Services, owner: User, server: FakeOpenAI, problem: str) -> Recorded:
    """The model request of a homework job on the English notes."""
    course = english_course(services, owner)
    run(services, submit_job(services, "homework", owner.id, course_id=course.id,
                             params={"problem": problem, "language": "en"}))
    (request,) = [r for r in server.requests if "Task: help the student with the homework" in system_of(r)]
    return request


def test_an_unrelated_problem_carries_no_passage(model_services: Services, users: dict[str, User],
                                                 server: FakeOpenAI) -> None:
    request = homework_request(model_services, users["alice"], server, "3x + 5 = 20")
    assert sources_in(request) == [] and "(no course material was given)" in user_of(request)


def test_homework_requests_ask_for_full_steps(model_services: Services, users: dict[str, User],
                                              server: FakeOpenAI) -> None:
    request = homework_request(model_services, users["alice"], server, "Why do plants close their stomata at noon?")
    assert sources_in(request), "a relevant problem carries its passages"
    system = system_of(request)
    assert "formula → substitution of the numbers → arithmetic → result" in system
    assert "do not skip steps" in system and "short" not in system.lower()


def test_no_two_passages_overlap(model_services: Services, users: dict[str, User], server: FakeOpenAI) -> None:
    course = english_course(model_services, users["alice"])
    chunks = model_services.store.chunks.list_for_course(course.id)
    assert len(chunks) >= 4 and any(a.end > b.start for a, b in zip(chunks, chunks[1:])), "windows overlap"
    ask(model_services, users["alice"], course, "How do stomata, guard cells and the xylem move water and "
                                                "carbon dioxide in a leaf during photosynthesis?", "en")
    (request,) = [r for r in server.requests if "Task: answer" in system_of(r)]
    passages = sources_in(request)
    assert len(passages) >= 3

    def shingles(text: str) -> set[str]:
        words = text.split()
        return {" ".join(words[i:i + 5]) for i in range(len(words) - 4)}

    for i, first in enumerate(passages):
        for second in passages[i + 1:]:
            assert not shingles(first) & shingles(second), (first, second)


def test_a_multiple_choice_answer_that_is_not_the_marked_option_is_repaired(
        model_services: Services, users: dict[str, User], server: FakeOpenAI) -> None:
    course = english_course(model_services, users["alice"])
    question = {"type": "mc", "stem": "Which pigment absorbs light?", "options": ["Keratin", "Chlorophyll", "Melanin"],
                "correct": 0, "answer": "Chlorophyll", "explanation": "[1]", "source": 1}
    server.queue(ok({"questions": [question]}), ok({"questions": [{**question, "correct": 1}]}))
    job = run(model_services, submit_job(model_services, "quiz", users["alice"].id, course_id=course.id,
                                         params={"count": 1, "kind": "mc", "language": "en"}))
    quiz = model_services.store.artifacts.get(job.result_ref)
    assert quiz.provider == "openai" and quiz.content["questions"][0]["correct"] == 1
    repair = [m["content"] for m in server.requests[-1].body["messages"] if m["role"] == "user"][-1]
    assert "the option marked correct" in repair


def test_wrong_arithmetic_in_homework_is_sent_back(model_services: Services, users: dict[str, User],
                                                   server: FakeOpenAI) -> None:
    slip = {"markdown": "x = 15 / 3 = 6", "steps": ["3x = 15", "x = 15 / 3 = 6"], "citations": []}
    server.queue(ok(slip))
    course = english_course(model_services, users["alice"])
    job = run(model_services, submit_job(model_services, "homework", users["alice"].id, course_id=course.id,
                                         params={"problem": "Solve 3x + 5 = 20", "language": "en"}))
    answer_ = model_services.store.artifacts.get(job.result_ref)
    assert answer_.provider == "openai" and "15 / 3 = 5" in answer_.content["markdown"]
    repair = [m["content"] for m in server.requests[-1].body["messages"] if m["role"] == "user"][-1]
    assert "15 / 3 = 6 (it is 5)" in repair


def test_chat_says_when_the_answer_came_from_the_offline_fallback(
        tmp_path: Path, users: dict[str, User], server: FakeOpenAI) -> None:
    server.default = lambda rec: status(503) if "Task: answer" in system_of(rec) else answer(rec)
    cfg = model_config(tmp_path, server)
    services = Services(cfg)
    try:
        from studybuddy.web import create_app

        course = english_course(services, users["alice"])
        conversation = ask(services, users["alice"], course, "What do guard cells do?", "en")
        reply = chat.messages(services.store, conversation)[-1]
        assert reply.data["role"] == "assistant" and reply.data["fallback"] is True
        app = create_app(cfg, services)
        app.config.update(TESTING=True)
        client = app.test_client()
        login(client, users["alice"].email)
        page = client.get(f"/courses/{course.id}/chat/{conversation.id}").get_data(as_text=True)
        assert "הורכבה במצב לא מקוון מתוך החומר שלכם" in page  # the pages speak Hebrew by default
    finally:
        services.close()


def test_ingest_embeds_in_batches_of_at_least_64(tmp_path: Path, users: dict[str, User],
                                                 server: FakeOpenAI) -> None:
    services = Services(model_config(tmp_path, server, embedding_batch=64) .replace(
        ingest={"chunk_words": 8, "chunk_overlap_words": 0}))
    try:
        course = services.store.courses.add(Course(id=new_id(), owner_id=users["alice"].id, name="Big"))
        text = "\n".join(f"Sentence {i} says that leaf number {i} holds chlorophyll and stomata." for i in range(130))
        document = accept_text(services, course, "Big notes", text)
        run(services, services.store.jobs.get(document.job_id))  # type: ignore[arg-type]
        chunks = services.store.chunks.list_for_course(course.id)
        sizes = [len(r.body["input"]) for r in server.embedding_requests]
        assert sum(sizes) == len(chunks) and len(sizes) == math.ceil(len(chunks) / 64)
        assert all(size == 64 for size in sizes[:-1])
        assert len(services.store.vectors.for_course(course.id, "text-embedding-3-small")) == len(chunks)
    finally:
        services.close()


def test_embed_chunks_fills_in_vectors_of_documents_ingested_before(
        tmp_path: Path, users: dict[str, User], server: FakeOpenAI) -> None:
    from studybuddy.cli import main

    plain = Services(model_config(tmp_path, server, embeddings="off"))
    try:
        course = english_course(plain, users["alice"])
        count = plain.store.chunks.count_for_course(course.id)
        assert not server.embedding_requests
    finally:
        plain.close()
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({
        "app": {"state_dir": str(tmp_path / "state")}, "web": {"secret_key": "test-secret-key"},
        "ai": {"openai_api_key": "sk-test", "openai_base_url": f"{server.url}/v1", "embeddings": "openai"}}))
    result = CliRunner().invoke(main, ["-c", str(config), "embed-chunks"], env={})
    assert result.exit_code == 0, result.output
    assert f"done: {count} chunks embedded with openai/text-embedding-3-small" in result.output
    assert len(server.embedding_requests) == 1
    off = tmp_path / "off.yaml"
    off.write_text(json.dumps({"app": {"state_dir": str(tmp_path / "state")}, "web": {"secret_key": "k"}}))
    refused = CliRunner().invoke(main, ["-c", str(off), "embed-chunks"], env={})
    assert refused.exit_code == 2 and "embeddings are off" in refused.output
