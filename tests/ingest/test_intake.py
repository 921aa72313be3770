"""Atomic intake: a document and its ingest job are written together (an outbox the reaper drains),
so no crash strands a document; a document with no live job can always be processed again."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from studybuddy.courses import create_course
from studybuddy.ingest import messages
from studybuddy.ingest.upload import accept_file, accept_text
from studybuddy.jobs.reaper import reap_once
from studybuddy.services import Services
from studybuddy.store.base import StoreError
from studybuddy.store.models import Course, Job, new_id
from studybuddy.worker.handlers import default_handlers
from studybuddy.worker.runner import process_job

from ..conftest import make_config
from ..helpers.stores import open_backend

ENGINES = ["sqlite", "mongomock"]


class Crash(BaseException):
    """The web process dying between two steps (a BaseException: no handler of ours catches it)."""


@pytest.fixture(params=ENGINES)
def engine(request: Any, tmp_path: Path) -> Any:
    cfg = make_config(tmp_path)
    store = open_backend(request.param, tmp_path, request)
    services = Services(cfg, store=store)
    yield services
    services.close()


@pytest.fixture
def course(engine: Services) -> Course:
    from studybuddy.accounts import create_user

    alice = create_user(engine.store, "alice@example.com", "correct horse battery", "Alice")
    return create_course(engine.store, alice.id, "ביולוגיה")


def _published(services: Services, queue: str = "file_processing") -> list[str]:
    """The job ids waiting on the (in-process) broker's queue; reads them off it."""
    ids = []
    with services.broker.connection() as conn:
        bound = services.broker.queues[queue](conn.default_channel)
        bound.declare()
        while (message := bound.get(no_ack=True)) is not None:
            ids.append(message.payload["job_id"])
    return ids


def _crash_at_publish(monkeypatch: pytest.MonkeyPatch) -> None:
    def die(services: Any, job: Job) -> bool:
        raise Crash

    monkeypatch.setattr("studybuddy.ingest.upload.dispatch", die)


@pytest.mark.parametrize("kind", ["file", "paste"])
def test_a_crash_before_the_publish_strands_nothing_and_the_reaper_publishes(
        engine: Services, course: Course, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    _published(engine)  # an empty queue to start from
    _crash_at_publish(monkeypatch)
    with pytest.raises(Crash):
        if kind == "file":
            accept_file(engine, course, "notes.txt", "הפוטוסינתזה מתרחשת בעלים.".encode())
        else:
            accept_text(engine, course, "הערות", "הפוטוסינתזה מתרחשת בעלים.")
    monkeypatch.undo()
    store = engine.store
    [document] = store.documents.list_for_course(course.id)
    assert document.job_id, "a document was left with an empty job id"
    job = store.jobs.get(document.job_id)
    assert job is not None and (job.type, job.state, job.document_id) == ("ingest", "queued", document.id)
    assert job.dispatched_at is None and _published(engine) == []
    assert store.blobs.exists(document.blob_id)

    assert reap_once(engine) == 1
    assert _published(engine) == [job.id]
    assert process_job(engine, job.id, "test-worker", default_handlers()) == "succeeded"
    done = store.documents.get(document.id)
    assert done is not None and done.status == "ready"


def test_an_upload_publishes_its_job_at_once(engine: Services, course: Course) -> None:
    _published(engine)
    document = accept_file(engine, course, "notes.txt", b"plain notes about cells")
    job = engine.store.jobs.get(document.job_id)
    assert job is not None and job.dispatched_at is not None
    assert _published(engine) == [document.job_id]


def test_a_failed_job_write_leaves_no_document_and_no_file(engine: Services, course: Course,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    store = engine.store
    if hasattr(store.documents, "db"):  # SQLite: the job's insert fails inside the transaction
        from studybuddy.store.sqlite_jobs import SqliteJobs

        def refuse(self: Any, job: Job) -> Job:
            raise StoreError("database or disk is full")

        monkeypatch.setattr(SqliteJobs, "add", refuse)
    else:  # Mongo without transactions: the job is written first, then the document fails
        def refuse_document(doc: Any, *args: Any, **kwargs: Any) -> Any:
            from pymongo.errors import PyMongoError

            raise PyMongoError("no space left on device")

        monkeypatch.setattr(store.documents.c, "insert_one", refuse_document)
    with pytest.raises(StoreError):
        accept_file(engine, course, "notes.txt", b"plain notes about cells")
    monkeypatch.undo()
    assert store.documents.list_for_course(course.id) == []
    assert store.jobs.list_for_owner(course.owner_id) == []
    assert store.blobs.list_ids() == []


def test_a_job_whose_document_never_arrived_ends_at_once(engine: Services, course: Course) -> None:
    """Mongo without transactions writes the job first: a crash before the document leaves such a job."""
    now = time.time()
    job = engine.store.jobs.add(Job(id=new_id(), type="ingest", queue="file_processing", owner_id=course.owner_id,
                                    course_id=course.id, document_id=new_id(), created_at=now, updated_at=now))
    assert process_job(engine, job.id, "test-worker", default_handlers()) in ("succeeded", "failed")
    finished = engine.store.jobs.get(job.id)
    assert finished is not None and finished.finished and finished.attempts == 1


# Retrying a document with no live job --------------------------------------------------------

def _client(engine: Services, course: Course) -> Any:
    from studybuddy.web import create_app

    from ..conftest import login

    engine.store.users.update(course.owner_id, language="en")
    app = create_app(engine.config, engine)
    app.config.update(TESTING=True)
    client = app.test_client()
    login(client, "alice@example.com")
    return client


def _token(client: Any) -> dict[str, str]:
    from ..conftest import csrf_token

    return {"X-CSRF-Token": csrf_token(client)}


@pytest.mark.parametrize("lost", ["empty job id", "missing job", "cancelled", "dead"])
def test_a_document_without_a_live_job_can_be_processed_again(engine: Services, course: Course, lost: str) -> None:
    store = engine.store
    document = accept_file(engine, course, "notes.txt", b"plain notes about cells")
    if lost == "empty job id":  # as a web crash left two documents before intake was atomic
        store.documents.update(document.id, job_id="")
    elif lost == "missing job":
        store.jobs.delete(document.job_id)
    elif lost == "cancelled":
        store.jobs.cancel(document.job_id, course.owner_id, time.time())
    else:
        job = store.jobs.get(document.job_id)
        assert job is not None
        store.jobs.delete(job.id)
        store.jobs.add(dataclasses.replace(job, state="dead", attempts=job.max_attempts, finished_at=time.time()))
    client = _client(engine, course)
    status = client.get(f"/api/v1/documents/{document.id}").get_json()
    assert status["status"] == "failed" and status["urls"]["retry"]
    assert status["error"] == (messages.INTERNAL if lost == "dead" else messages.STOPPED)
    r = client.post(f"/api/v1/documents/{document.id}/retry", headers=_token(client))
    assert r.status_code == 202, r.get_json()
    again = store.documents.get(document.id)
    assert again is not None and again.job_id and again.job_id != document.job_id
    job = store.jobs.get(again.job_id)
    assert job is not None and job.state == "queued" and job.dispatched_at is not None
    # While that job is live, a second retry is refused; once it has run, the document is ready.
    r = client.post(f"/api/v1/documents/{document.id}/retry", headers=_token(client))
    assert r.status_code == 409 and r.get_json()["error"] == messages.NOT_FAILED
    assert process_job(engine, job.id, "test-worker", default_handlers()) == "succeeded"
    assert client.get(f"/api/v1/documents/{document.id}").get_json()["status"] == "ready"
