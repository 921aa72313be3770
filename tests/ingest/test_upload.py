"""Accepting a document (studybuddy.ingest.upload): the limits at their edges, pasted text as
it is kept, a duplicate's answer, nothing left behind when the store fails half-way, and the
journal lines an administrator reads."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from studybuddy.ingest import messages
from studybuddy.ingest.detect import Rejected
from studybuddy.ingest.upload import MB, accept_file, accept_text, remove_document, retry_document
from studybuddy.services import Services
from studybuddy.store.models import Course, Document, User, new_id


@pytest.fixture
def course(services: Services, users: dict[str, User]) -> Course:
    return services.store.courses.add(Course(id=new_id(), owner_id=users["alice"].id, name="ביולוגיה"))


def nothing_stored(services: Services, course: Course) -> bool:
    store = services.store
    return store.documents.list_for_course(course.id) == [] and store.blobs.list_ids() == [] \
        and store.jobs.list_for_owner(course.owner_id) == []


def failed_document(services: Services, document: Document, error: str = "") -> Document:
    """The document as its failed ingest leaves it."""
    failed = services.store.documents.update(document.id, status="failed", error=error)
    assert failed is not None
    return failed


@contextmanager
def failing_insert(services: Services, table: str) -> Iterator[None]:
    """The store refuses new rows of `table` (a full disk, say) — a real SQLite error, raised by a
    trigger in the test's database."""
    db = sqlite3.connect(services.store.path)
    try:
        db.execute(f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                   "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
        db.commit()
        yield
    finally:
        db.execute(f"DROP TRIGGER IF EXISTS refuse_{table}")
        db.commit()
        db.close()


def test_a_file_of_exactly_the_limit_is_taken_one_byte_more_is_not(services: Services, course: Course) -> None:
    services.config = services.config.replace(web={"max_upload_mb": 1})
    with pytest.raises(Rejected) as refused:
        accept_file(services, course, "big.txt", b"a" * (MB + 1))
    assert refused.value.status == 413
    assert refused.value.message == messages.TOO_LARGE_NAMED.format(name="big.txt", limit=1)
    assert nothing_stored(services, course)
    document = accept_file(services, course, "just.txt", b"a" * MB)
    assert document.size == MB and services.store.blobs.get(document.blob_id) == b"a" * MB


def test_pasted_text_is_kept_with_unix_line_ends(services: Services, course: Course) -> None:
    document = accept_text(services, course, "  הערות  ", "שורה אחת\r\nשורה שתיים\r\n")
    assert document.display_name == "הערות"
    assert services.store.blobs.get(document.blob_id) == "שורה אחת\nשורה שתיים\n".encode()
    assert (document.kind, document.mime) == ("txt", "text/plain")


@pytest.mark.parametrize("title,text,message", [
    ("", "טקסט", messages.TITLE_REQUIRED),
    ("   ", "טקסט", messages.TITLE_REQUIRED),
    ("כותרת", None, messages.EMPTY_TEXT),
    ("כותרת", " \r\n\t ", messages.EMPTY_TEXT),
], ids=["no-title", "blank-title", "no-text", "blank-text"])
def test_pasted_text_needs_a_title_and_some_text(services: Services, course: Course, title: str,
                                                 text: str | None, message: str) -> None:
    with pytest.raises(Rejected) as refused:
        accept_text(services, course, title, text)
    assert (refused.value.status, refused.value.message) == (400, message)
    assert nothing_stored(services, course)


def test_pasted_text_of_exactly_the_character_limit_is_taken(services: Services, course: Course) -> None:
    services.config = services.config.replace(ingest={"max_paste_chars": 10})
    with pytest.raises(Rejected) as refused:
        accept_text(services, course, "ארוך", "א" * 11)
    assert (refused.value.status, refused.value.message) == (400, messages.TEXT_TOO_LONG.format(limit=10))
    assert nothing_stored(services, course)
    # A Windows line end counts as one character, as it is kept.
    assert accept_text(services, course, "בדיוק", "א" * 8 + "\r\n" + "ב").size == 8 * 2 + 1 + 2


def test_pasted_text_over_the_size_limit_is_refused_in_bytes(services: Services, course: Course) -> None:
    """Hebrew letters take two bytes each: a text under the character limit can pass the size limit."""
    services.config = services.config.replace(web={"max_upload_mb": 1}, ingest={"max_paste_chars": MB})
    with pytest.raises(Rejected) as refused:
        accept_text(services, course, "גדול", "א" * (MB // 2) + "!")
    assert (refused.value.status, refused.value.message) == (413, messages.TOO_LARGE.format(limit=1))
    assert nothing_stored(services, course)
    assert accept_text(services, course, "בדיוק", "א" * (MB // 2)).size == MB


def test_the_same_text_pasted_twice_is_kept_twice(services: Services, course: Course) -> None:
    first = accept_text(services, course, "שיעור 1", "אותו טקסט")
    second = accept_text(services, course, "שיעור 1 שוב", "אותו טקסט")
    assert first.id != second.id and first.content_hash == second.content_hash
    assert len(services.store.documents.list_for_course(course.id)) == 2


def test_a_file_already_in_the_course_is_a_conflict_named_after_the_first(services: Services,
                                                                         course: Course) -> None:
    accept_file(services, course, "first.txt", "סיכום".encode())
    with pytest.raises(Rejected) as refused:
        accept_file(services, course, "copy.txt", "סיכום".encode())
    assert (refused.value.status, refused.value.message) == (409, messages.DUPLICATE.format(name="first.txt"))
    assert len(services.store.blobs.list_ids()) == 1


def test_the_ingest_job_belongs_to_the_course(services: Services, course: Course) -> None:
    """The course page's recent work lists the job: it carries the course, document and owner."""
    document = accept_file(services, course, "a.txt", "טקסט".encode())
    job = services.store.jobs.get(document.job_id)
    assert job is not None
    assert (job.type, job.owner_id, job.course_id, job.document_id) == ("ingest", course.owner_id, course.id,
                                                                         document.id)
    assert services.store.documents.get(document.id).job_id == job.id
    # So does the job of a retry.
    again = retry_document(services, failed_document(services, document))
    retried = services.store.jobs.get(again.job_id)
    assert retried is not None and retried.id != job.id
    assert (retried.type, retried.owner_id, retried.course_id, retried.document_id) == (
        "ingest", course.owner_id, course.id, document.id)


@pytest.mark.parametrize("table", ["documents", "jobs"])
def test_a_store_failure_half_way_leaves_nothing_behind(services: Services, course: Course, table: str) -> None:
    """Whether the document's row or its job's row cannot be written, neither the file nor the
    document stays: the student may simply try again."""
    with failing_insert(services, table), pytest.raises(Exception, match="disk is full"):
        accept_file(services, course, "a.txt", "טקסט".encode())
    assert nothing_stored(services, course)
    # And trying again works.
    assert accept_file(services, course, "a.txt", "טקסט".encode()).status == "uploaded"


def test_retry_needs_a_failed_document_with_its_file(services: Services, course: Course) -> None:
    document = accept_file(services, course, "a.txt", "טקסט".encode())
    with pytest.raises(Rejected) as refused:  # its job is still queued
        retry_document(services, document)
    assert (refused.value.status, refused.value.message) == (409, messages.NOT_FAILED)
    services.store.blobs.delete(document.blob_id)
    with pytest.raises(Rejected) as refused:
        retry_document(services, failed_document(services, document))
    assert (refused.value.status, refused.value.message) == (409, messages.FILE_MISSING)
    assert [j.id for j in services.store.jobs.list_for_owner(course.owner_id)] == [document.job_id]


def test_the_ingest_job_follows_the_workers_attempt_limit(services: Services, course: Course) -> None:
    services.config = services.config.replace(worker={"max_attempts": 2})
    document = accept_file(services, course, "a.txt", "טקסט".encode())
    assert services.store.jobs.get(document.job_id).max_attempts == 2
    again = retry_document(services, failed_document(services, document))
    assert services.store.jobs.get(again.job_id).max_attempts == 2


def test_a_document_whose_ingest_stopped_without_an_outcome_can_go_again(services: Services,
                                                                        course: Course) -> None:
    """Not ready, and no job waiting or running for it (its job died, or its record is gone)."""
    store = services.store
    document = accept_file(services, course, "a.txt", "טקסט".encode())
    claimed = store.jobs.claim(document.job_id, "w", 30, time.time())
    assert claimed is not None and store.jobs.finish(document.job_id, claimed.lease_token, "dead", time.time())
    again = retry_document(services, store.documents.get(document.id))
    assert again.job_id != document.job_id and again.status == "uploaded"
    store.documents.update(document.id, job_id=new_id())  # a job record that no longer exists
    third = retry_document(services, store.documents.get(document.id))
    assert store.jobs.get(third.job_id).state == "queued"
    # A job of another document does not hold this one back.
    other = accept_file(services, course, "b.txt", "אחר".encode())
    store.documents.update(document.id, job_id=other.job_id)
    assert retry_document(services, store.documents.get(document.id)).job_id not in (other.job_id, third.job_id)


def test_a_ready_document_is_not_processed_again(services: Services, course: Course) -> None:
    document = accept_file(services, course, "a.txt", "טקסט".encode())
    claimed = services.store.jobs.claim(document.job_id, "w", 30, time.time())
    assert claimed is not None
    assert services.store.jobs.finish(document.job_id, claimed.lease_token, "succeeded", time.time())
    ready = services.store.documents.update(document.id, status="ready")
    with pytest.raises(Rejected) as refused:
        retry_document(services, ready)
    assert (refused.value.status, refused.value.message) == (409, messages.NOT_FAILED)


def test_a_retry_clears_the_failure_and_queues_the_document_again(services: Services, course: Course) -> None:
    document = accept_file(services, course, "photo.txt", "טקסט".encode())
    again = retry_document(services, failed_document(services, document, messages.OCR_MISSING))
    stored = services.store.documents.get(document.id)
    assert stored is not None and (stored.status, stored.error, stored.job_id) == ("uploaded", "", again.job_id)
    assert services.store.jobs.get(again.job_id).state == "queued"


def test_removing_a_document_takes_its_row_and_its_file(services: Services, course: Course) -> None:
    kept = accept_file(services, course, "kept.txt", "נשאר".encode())
    document = accept_file(services, course, "gone.txt", "נמחק".encode())
    remove_document(services, document)
    assert services.store.documents.get(document.id) is None
    assert not services.store.blobs.exists(document.blob_id)
    assert [d.id for d in services.store.documents.list_for_course(course.id)] == [kept.id]
    assert services.store.blobs.exists(kept.blob_id)


def test_the_journal_names_each_document_change(services: Services, course: Course,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="studybuddy.ingest.upload")
    document = accept_file(services, course, "a.txt", b"notes")
    again = retry_document(services, failed_document(services, document))
    remove_document(services, again)
    lines = [r.getMessage() for r in caplog.records if r.name == "studybuddy.ingest.upload"]
    assert lines == [
        f"document {document.id} (txt, 5 bytes) added to course {course.id}; ingest job {document.job_id}",
        f"document {document.id} queued again as job {again.job_id}",
        f"document {document.id} deleted from course {course.id}",
    ]
    assert again.job_id != document.job_id and again.status == "uploaded"
