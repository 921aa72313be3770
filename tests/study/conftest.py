"""Fixtures for the study tools: a course with ready material, and an in-process worker."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from studybuddy.services import Services
from studybuddy.store.models import Chunk, Course, Document, Job, User, new_id
from studybuddy.worker.consumer import Worker
from tests.study.study_material import ENGLISH, HEBREW


def _search_form(text: str) -> str:
    try:
        from studybuddy.ingest.hebrew import search_form
    except ImportError:  # pragma: no cover - the ingest package is always there in a full tree
        return text.lower()
    return search_form(text)


def add_course(services: Services, owner: User, passages: list[str], *, name: str = "Biology",
               document_name: str = "biology.pdf", mime: str = "application/pdf",
               status: str = "ready") -> tuple[Course, Document]:
    store = services.store
    course = store.courses.add(Course(id=new_id(), owner_id=owner.id, name=name))
    document = store.documents.add(Document(
        id=new_id(), course_id=course.id, owner_id=owner.id, display_name=document_name, mime=mime,
        kind="pdf" if mime == "application/pdf" else "text", status=status, page_count=len(passages),
    ))
    store.chunks.replace_for_document(document.id, [
        Chunk(id=new_id(), document_id=document.id, course_id=course.id, ordinal=i, page=i + 1, text=text,
              search_text=_search_form(text))
        for i, text in enumerate(passages)
    ])
    return course, document


@pytest.fixture
def english_course(services: Services, users: dict[str, User]) -> tuple[Course, Document]:
    return add_course(services, users["alice"], ENGLISH)


@pytest.fixture
def hebrew_course(services: Services, users: dict[str, User]) -> tuple[Course, Document]:
    return add_course(services, users["alice"], HEBREW, name="ביולוגיה", document_name="ביולוגיה.docx",
                      mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")


@pytest.fixture
def worker(services: Services) -> Iterator[Worker]:
    running = Worker(services, run_reaper=False)
    running.start()
    assert running.wait_ready(20), "worker did not start consuming"
    yield running
    running.stop(10)


def wait_job(services: Services, job_id: str, timeout: float = 30.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = services.store.jobs.get(job_id)
        if job is not None and job.finished:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s: {services.store.jobs.get(job_id)}")


@pytest.fixture
def run_job(services: Services, worker: Worker) -> Callable[..., Job]:
    from studybuddy.jobs.service import submit_job

    def run(job_type: str, owner: User, course_id: str = "", **params: Any) -> Job:
        job = submit_job(services, job_type, owner.id, course_id=course_id, params=params)
        return wait_job(services, job.id)

    return run
