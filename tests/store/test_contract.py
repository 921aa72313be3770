"""One contract, every store: SQLite for real, MongoDB on mongomock (and on a real server when
STUDYBUDDY_TEST_MONGODB_URI is set)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from studybuddy.store import DuplicateError
from studybuddy.store.models import (
    Artifact,
    Chunk,
    Course,
    Document,
    Item,
    Job,
    MonitorEvent,
    Page,
    User,
    new_id,
)
from tests.helpers.stores import BACKENDS, open_backend


@pytest.fixture(params=BACKENDS)
def store(request: Any, tmp_path: Path) -> Iterator[Any]:
    s = open_backend(request.param, tmp_path, request)
    yield s
    s.close()


def _user(store: Any, email: str = "alice@example.com") -> User:
    return store.users.add(User(id=new_id(), email=email, password_hash="x"))


def _course(store: Any, owner: User) -> Course:
    return store.courses.add(Course(id=new_id(), owner_id=owner.id, name="אלגברה"))


def _document(store: Any, course: Course, blob: bytes = b"%PDF-1.4") -> Document:
    blob_id = store.blobs.put(blob)
    return store.documents.add(Document(id=new_id(), course_id=course.id, owner_id=course.owner_id,
                                        display_name="הרצאה 1.pdf", blob_id=blob_id))


def _job(store: Any, owner: User, **kw: Any) -> Job:
    return store.jobs.add(Job(id=new_id(), type="ping", queue="summarize", owner_id=owner.id, **kw))


def test_users_email_is_unique_case_insensitively(store: Any) -> None:
    alice = _user(store)
    assert store.users.get_by_email("ALICE@example.com ").id == alice.id
    with pytest.raises(DuplicateError):
        store.users.add(User(id=new_id(), email="alice@example.com", password_hash="y"))
    assert store.users.count() == 1
    updated = store.users.update(alice.id, display_name="Alice", is_admin=True)
    assert updated.display_name == "Alice" and updated.is_admin is True
    assert [u.id for u in store.users.list()] == [alice.id]


def test_courses_documents_pages_chunks_roundtrip(store: Any) -> None:
    alice = _user(store)
    course = _course(store, alice)
    assert store.courses.get(course.id).name == "אלגברה"
    assert [c.id for c in store.courses.list_for_owner(alice.id)] == [course.id]
    doc = _document(store, course)
    store.documents.update(doc.id, status="ready", page_count=2)
    assert store.documents.get(doc.id).status == "ready"
    store.pages.replace_for_document(doc.id, [Page(doc.id, 1, "עמוד אחד"), Page(doc.id, 2, "עמוד שניים")])
    assert [p.number for p in store.pages.list_for_document(doc.id)] == [1, 2]
    assert store.pages.get(doc.id, 2).text == "עמוד שניים"
    chunks = [Chunk(id=new_id(), document_id=doc.id, course_id=course.id, ordinal=i, page=i + 1,
                    text=f"טקסט {i}", search_text=f"טקסט {i}", start=0, end=6) for i in range(3)]
    store.chunks.replace_for_document(doc.id, chunks)
    assert [c.ordinal for c in store.chunks.list_for_document(doc.id)] == [0, 1, 2]
    assert store.chunks.list_for_document(doc.id) == chunks  # every field comes back as written
    assert store.chunks.count_for_course(course.id) == 3
    assert store.chunks.get(chunks[1].id).page == 2
    # Replacing is a replacement, not an append.
    store.chunks.replace_for_document(doc.id, chunks[:1])
    assert store.chunks.count_for_course(course.id) == 1


def test_documents_found_by_content_hash_within_their_course(store: Any) -> None:
    alice = _user(store)
    course, other = _course(store, alice), _course(store, alice)
    first = store.documents.add(Document(id=new_id(), course_id=course.id, owner_id=alice.id,
                                         display_name="a.pdf", content_hash="h1", created_at=1.0))
    store.documents.add(Document(id=new_id(), course_id=course.id, owner_id=alice.id,
                                 display_name="b.pdf", content_hash="h1", created_at=2.0))
    assert store.documents.get(first.id).content_hash == "h1"
    assert store.documents.find_by_hash(course.id, "h1").id == first.id
    assert store.documents.find_by_hash(other.id, "h1") is None
    assert store.documents.find_by_hash(course.id, "h2") is None
    assert store.documents.find_by_hash(course.id, "") is None
    # A document that failed does not hold its bytes: the file may come again.
    store.documents.update(first.id, status="failed")
    assert store.documents.find_by_hash(course.id, "h1").display_name == "b.pdf"


def test_delete_course_cascades_to_everything_blobs_included(store: Any) -> None:
    alice = _user(store)
    course = _course(store, alice)
    other = _course(store, alice)
    doc = _document(store, course)
    keep = _document(store, other, b"keep")
    store.pages.replace_for_document(doc.id, [Page(doc.id, 1, "x")])
    store.chunks.replace_for_document(doc.id, [Chunk(new_id(), doc.id, course.id, 0, 1, "x", "x")])
    store.artifacts.add(Artifact(id=new_id(), owner_id=alice.id, course_id=course.id, kind="summary",
                                 content={"markdown": "x"}, document_id=doc.id))
    store.items.add(Item(id=new_id(), kind="chat_message", owner_id=alice.id, course_id=course.id, data={}))
    job = _job(store, alice, course_id=course.id)
    store.delete_course(course.id)
    assert store.courses.get(course.id) is None
    assert store.documents.get(doc.id) is None
    assert store.pages.list_for_document(doc.id) == []
    assert store.chunks.count_for_course(course.id) == 0
    assert store.artifacts.list_for_course(course.id) == []
    assert store.items.find("chat_message", course_id=course.id) == []
    assert store.jobs.get(job.id) is None
    assert not store.blobs.exists(doc.blob_id)
    # The other course is untouched.
    assert store.documents.get(keep.id) is not None and store.blobs.get(keep.blob_id) == b"keep"


def _stamp(store: Any, course_id: str) -> Any:
    found = store.courses.get_stamped(course_id)
    assert found is not None and found[0].id == course_id
    return found[1]


def test_a_course_stamp_moves_with_every_write_to_what_its_page_shows(store: Any) -> None:
    """SQLite keeps a counter per course (its triggers); MongoDB keeps none and says so. Both say
    whether a job of the course is under way."""
    alice = _user(store)
    course = _course(store, alice)
    other = _course(store, alice)
    counted = _stamp(store, course.id).version is not None
    assert counted == (type(store).__name__ == "SqliteStore")
    seen = [_stamp(store, course.id)]

    def moved() -> bool:
        now = _stamp(store, course.id)
        changed = now.version != seen[-1].version
        seen.append(now)
        return changed or not counted

    doc = _document(store, course)
    assert moved()
    store.documents.update(doc.id, status="ready")
    assert moved()
    job = _job(store, alice, course_id=course.id)
    assert moved() and seen[-1].busy
    assert store.jobs.claim(job.id, "w", 30, 100.0) is not None
    assert moved() and seen[-1].busy
    store.jobs.cancel(job.id, alice.id, 101.0)
    assert moved() and not seen[-1].busy
    art = store.artifacts.add(Artifact(id=new_id(), owner_id=alice.id, course_id=course.id, kind="summary",
                                       content={"markdown": "x"}))
    assert moved()
    store.artifacts.update_content(art.id, {"markdown": "y"})
    assert moved()
    pin = store.items.add(Item(id=new_id(), kind="result_pin", owner_id=alice.id, course_id=course.id,
                               parent_id=art.id, data={}))
    assert moved()
    store.items.delete(pin.id)
    assert moved()
    store.courses.update(course.id, name="חדש")
    assert moved()
    store.delete_document(doc.id)
    assert moved()
    # Writes to another course leave this one's stamp alone.
    _document(store, other)
    _job(store, alice, course_id=other.id)
    assert _stamp(store, course.id) == seen[-1] and not seen[-1].busy
    # A deleted course keeps no counter behind it.
    store.delete_course(course.id)
    assert store.courses.get_stamped(course.id) is None
    if counted:
        assert store.db.execute("SELECT COUNT(*) FROM course_stamps WHERE course_id = ?",
                                (course.id,)).fetchone()[0] == 0


def test_delete_document_takes_pages_chunks_artifacts_and_blob(store: Any) -> None:
    alice = _user(store)
    course = _course(store, alice)
    doc = _document(store, course)
    store.chunks.replace_for_document(doc.id, [Chunk(new_id(), doc.id, course.id, 0, 1, "x", "x")])
    store.artifacts.add(Artifact(id=new_id(), owner_id=alice.id, course_id=course.id, kind="summary",
                                 content={}, document_id=doc.id))
    course_art = store.artifacts.add(Artifact(id=new_id(), owner_id=alice.id, course_id=course.id,
                                              kind="summary", content={}))
    store.delete_document(doc.id)
    assert store.documents.get(doc.id) is None
    assert store.chunks.list_for_document(doc.id) == []
    assert [a.id for a in store.artifacts.list_for_course(course.id)] == [course_art.id]
    assert not store.blobs.exists(doc.blob_id)


def test_job_claim_is_atomic_and_single(store: Any) -> None:
    alice = _user(store)
    job = _job(store, alice)
    winners: list[Any] = []

    def claim(worker: str) -> None:
        got = store.jobs.claim(job.id, worker, 30, 1000.0)
        if got:
            winners.append(got)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    claimed = winners[0]
    assert claimed.state == "running" and claimed.attempts == 1
    assert claimed.lease_expires_at == pytest.approx(1030.0)
    # A second delivery of the same message does nothing.
    assert store.jobs.claim(job.id, "late", 30, 1001.0) is None


def test_job_lifecycle_progress_finish_and_owner_checks(store: Any) -> None:
    alice = _user(store)
    job = _job(store, alice)
    token = store.jobs.claim(job.id, "w1", 30, 100.0).lease_token
    assert token
    assert store.jobs.set_progress(job.id, token, 40, "reading", 101.0)
    assert not store.jobs.set_progress(job.id, "w2", 50, "not mine", 101.0)
    assert not store.jobs.set_progress(job.id, "", 50, "no token", 101.0)
    got = store.jobs.get(job.id)
    assert (got.progress, got.stage) == (40, "reading")
    assert store.jobs.heartbeat(job.id, token, 30, 110.0)
    assert store.jobs.get(job.id).lease_expires_at == pytest.approx(140.0)
    assert not store.jobs.finish(job.id, "w2", "succeeded", 111.0)
    assert store.jobs.finish(job.id, token, "succeeded", 112.0, result_ref="artifact-1")
    done = store.jobs.get(job.id)
    assert done.state == "succeeded" and done.result_ref == "artifact-1" and done.progress == 100
    assert done.lease_token == ""
    assert not store.jobs.finish(job.id, token, "failed", 113.0)
    assert store.jobs.count_by_state() == {"succeeded": 1}
    assert [j.id for j in store.jobs.list_for_owner(alice.id)] == [job.id]


def test_job_progress_is_clamped_and_a_failure_keeps_what_it_reached(store: Any) -> None:
    """Progress stays within 0..100 (0 itself kept); a failed job keeps the progress it had and
    no result or message it was not given; many expired leases are all requeued in one pass."""
    alice = _user(store)
    job = _job(store, alice)
    token = store.jobs.claim(job.id, "w1", 30, 100.0).lease_token
    assert store.jobs.set_progress(job.id, token, 101, "past the end", 101.0)
    assert store.jobs.get(job.id).progress == 100
    assert store.jobs.set_progress(job.id, token, 0, "start", 102.0)
    assert store.jobs.get(job.id).progress == 0
    assert store.jobs.set_progress(job.id, token, -5, "before the start", 103.0)
    assert store.jobs.get(job.id).progress == 0
    assert store.jobs.set_progress(job.id, token, 35, "halfway", 104.0)
    assert store.jobs.finish(job.id, token, "failed", 105.0)
    failed = store.jobs.get(job.id)
    assert (failed.state, failed.progress) == ("failed", 35)
    assert (failed.result_ref, failed.error_user, failed.error_internal) == ("", "", "")
    running = [_job(store, alice) for _ in range(101)]
    for other in running:
        assert store.jobs.claim(other.id, "w1", 10, 100.0)
    assert len(store.jobs.requeue_expired(200.0)) == 100  # one pass takes at most 100
    assert len(store.jobs.requeue_expired(200.0)) == 1


def test_a_worker_that_lost_its_lease_can_write_nothing(store: Any) -> None:
    alice = _user(store)
    job = _job(store, alice)
    first = store.jobs.claim(job.id, "w1", 10, 100.0)
    # Still within the lease: a second delivery does not take the job.
    assert store.jobs.claim(job.id, "w2", 10, 105.0) is None
    # Past it, a redelivery takes the job over at once with a new token and a new attempt.
    second = store.jobs.claim(job.id, "w2", 10, 111.0)
    assert second is not None and second.attempts == 2 and second.lease_owner == "w2"
    assert second.lease_token and second.lease_token != first.lease_token
    assert not store.jobs.heartbeat(job.id, first.lease_token, 10, 112.0)
    assert not store.jobs.set_progress(job.id, first.lease_token, 90, "late", 112.0)
    assert not store.jobs.retry_later(job.id, first.lease_token, 200.0, "late", 112.0)
    assert not store.jobs.release(job.id, first.lease_token, 112.0)
    assert not store.jobs.finish(job.id, first.lease_token, "succeeded", 112.0, result_ref="stale")
    assert store.jobs.finish(job.id, second.lease_token, "succeeded", 113.0, result_ref="fresh")
    assert store.jobs.get(job.id).result_ref == "fresh"
    # The same worker claiming again gets a token of its own: the old one stays fenced off.
    other = _job(store, alice)
    one = store.jobs.claim(other.id, "w1", 10, 100.0)
    store.jobs.requeue_expired(111.0)
    two = store.jobs.claim(other.id, "w1", 10, 112.0)
    assert two.lease_token != one.lease_token
    assert not store.jobs.finish(other.id, one.lease_token, "succeeded", 113.0)


def test_an_expired_lease_is_not_taken_when_no_attempt_is_left(store: Any) -> None:
    alice = _user(store)
    job = _job(store, alice, max_attempts=1)
    store.jobs.claim(job.id, "w1", 10, 100.0)
    assert store.jobs.claim(job.id, "w2", 10, 200.0) is None


def test_a_cancel_clears_the_lease(store: Any) -> None:
    alice = _user(store)
    job = _job(store, alice)
    token = store.jobs.claim(job.id, "w1", 30, 100.0).lease_token
    cancelled = store.jobs.cancel(job.id, alice.id, 101.0)
    assert cancelled.state == "cancelled" and cancelled.lease_token == "" and cancelled.lease_owner == ""
    assert not store.jobs.heartbeat(job.id, token, 30, 102.0)
    assert not store.jobs.finish(job.id, token, "succeeded", 102.0, result_ref="x")
    assert store.jobs.get(job.id).state == "cancelled"


def test_retry_later_waits_for_not_before(store: Any) -> None:
    alice = _user(store)
    job = _job(store, alice)
    store.jobs.mark_dispatched(job.id, 100.0)
    token = store.jobs.claim(job.id, "w1", 30, 100.0).lease_token
    assert store.jobs.retry_later(job.id, token, 150.0, "TransientError: boom", 101.0)
    again = store.jobs.get(job.id)
    assert again.state == "queued" and again.dispatched_at is None and again.error_internal
    assert again.lease_token == ""
    assert store.jobs.claim(job.id, "w2", 30, 120.0) is None  # not yet due
    assert store.jobs.due_for_dispatch(120.0, 0.0) == []
    assert [j.id for j in store.jobs.due_for_dispatch(150.0, 0.0)] == [job.id]
    assert store.jobs.claim(job.id, "w2", 30, 150.0).attempts == 2


def test_dispatch_marks_are_exclusive(store: Any) -> None:
    alice = _user(store)
    job = _job(store, alice)
    assert [j.id for j in store.jobs.due_for_dispatch(10.0, 0.0)] == [job.id]
    assert store.jobs.mark_dispatched(job.id, 10.0)
    assert not store.jobs.mark_dispatched(job.id, 10.0)
    assert store.jobs.due_for_dispatch(10.0, 5.0) == []
    # Dispatched long ago and still queued: due again (the message was lost).
    assert [j.id for j in store.jobs.due_for_dispatch(1000.0, 500.0)] == [job.id]
    store.jobs.unmark_dispatched(job.id)
    assert store.jobs.get(job.id).dispatched_at is None


def test_expired_leases_requeue_and_exhausted_jobs_die(store: Any) -> None:
    alice = _user(store)
    job = _job(store, alice, max_attempts=2)
    store.jobs.mark_dispatched(job.id, 0.0)
    store.jobs.claim(job.id, "w1", 10, 100.0)
    assert store.jobs.requeue_expired(105.0) == []
    requeued = store.jobs.requeue_expired(111.0)
    assert [j.id for j in requeued] == [job.id]
    assert requeued[0].state == "queued" and requeued[0].dispatched_at is None
    assert requeued[0].lease_token == ""
    assert store.jobs.bury_exhausted(112.0) == []
    store.jobs.claim(job.id, "w2", 10, 112.0)
    store.jobs.requeue_expired(200.0)
    dead = store.jobs.bury_exhausted(201.0)
    assert [j.id for j in dead] == [job.id]
    final = store.jobs.get(job.id)
    assert final.state == "dead" and final.error_user
    assert store.jobs.claim(job.id, "w3", 10, 202.0) is None


def test_release_gives_the_attempt_back(store: Any) -> None:
    alice = _user(store)
    job = _job(store, alice)
    token = store.jobs.claim(job.id, "w1", 30, 100.0).lease_token
    assert store.jobs.release(job.id, token, 101.0)
    back = store.jobs.get(job.id)
    assert back.state == "queued" and back.attempts == 0 and back.dispatched_at is None


def test_artifacts_items_counters(store: Any) -> None:
    alice = _user(store)
    course = _course(store, alice)
    art = store.artifacts.add(Artifact(id=new_id(), owner_id=alice.id, course_id=course.id, kind="quiz",
                                       content={"questions": [{"stem": "מה?"}]}, provider="local"))
    assert store.artifacts.get(art.id).content["questions"][0]["stem"] == "מה?"
    store.artifacts.update_content(art.id, {"questions": []})
    assert store.artifacts.get(art.id).content == {"questions": []}
    assert [a.id for a in store.artifacts.list_for_course(course.id, "quiz")] == [art.id]
    assert store.artifacts.list_for_course(course.id, "summary") == []
    item = store.items.add(Item(id=new_id(), kind="review_mark", owner_id=alice.id, key="mark-1",
                                course_id=course.id, data={"grade": 3}))
    with pytest.raises(DuplicateError):
        store.items.add(Item(id=new_id(), kind="review_mark", owner_id=alice.id, key="mark-1", data={}))
    assert store.items.get_by_key("review_mark", alice.id, "mark-1").id == item.id
    store.items.put(Item(id=item.id, kind="review_mark", owner_id=alice.id, key="mark-1",
                         course_id=course.id, data={"grade": 4}))
    assert store.items.get(item.id).data == {"grade": 4}
    # Unkeyed items never collide.
    for _ in range(2):
        store.items.add(Item(id=new_id(), kind="chat_message", owner_id=alice.id, data={}))
    assert len(store.items.find("chat_message", owner_id=alice.id)) == 2
    store.items.delete(item.id)
    assert store.items.get(item.id) is None
    assert store.counters.incr("quota:alice:2026-11-29") == 1
    assert store.counters.incr("quota:alice:2026-11-29", 2) == 3
    assert store.counters.get("quota:alice:2026-11-29") == 3
    assert store.counters.get("nothing") == 0


def test_artifact_ids_of_a_student_and_kind(store: Any) -> None:
    alice, bob = _user(store), _user(store, "bob@example.com")
    first, second = _course(store, alice), _course(store, alice)
    made = []
    for n, (course, kind, owner) in enumerate([(second, "flashcards", alice), (first, "flashcards", alice),
                                               (first, "quiz", alice), (_course(store, bob), "flashcards", bob),
                                               (second, "flashcards", alice)]):
        made.append(store.artifacts.add(Artifact(id=new_id(), owner_id=owner.id, course_id=course.id, kind=kind,
                                                 content={}, created_at=1000.0 + n)))
    assert store.artifacts.ids_for_owner(alice.id, "flashcards") == [made[0].id, made[1].id, made[4].id]
    assert store.artifacts.ids_for_owner(bob.id, "flashcards") == [made[3].id]
    assert store.artifacts.ids_for_owner(bob.id, "quiz") == []
    store.delete_course(second.id)
    assert store.artifacts.ids_for_owner(alice.id, "flashcards") == [made[1].id]


def test_monitor_state_and_events(store: Any) -> None:
    assert store.monitor.get_state("strikes") is None
    store.monitor.set_state("strikes", {"web": 2})
    store.monitor.set_state("strikes", {"web": 3})
    assert store.monitor.get_state("strikes") == {"web": 3}
    store.monitor.add_event(MonitorEvent(id=new_id(), kind="restart", check="web", data={"unit": "x"},
                                         created_at=10.0))
    store.monitor.add_event(MonitorEvent(id=new_id(), kind="mail", check="web", data={}, created_at=20.0))
    assert [e.kind for e in store.monitor.events()] == ["restart", "mail"]
    assert [e.kind for e in store.monitor.events(since=15.0)] == ["mail"]
    assert [e.created_at for e in store.monitor.events(kind="restart")] == [10.0]


def test_blobs(store: Any) -> None:
    import io

    a = store.blobs.put(b"hello")
    b = store.blobs.put(io.BytesIO(b"x" * 3_000_000))
    assert store.blobs.get(a) == b"hello"
    assert len(store.blobs.get(b)) == 3_000_000
    assert set(store.blobs.list_ids()) == {a, b}
    store.blobs.delete(a)
    assert not store.blobs.exists(a)
    with pytest.raises(KeyError):
        store.blobs.get(a)
    store.ping()


def test_sqlite_database_is_created_group_writable(tmp_path: Path) -> None:
    import os
    import stat

    from studybuddy.store.sqlite import SqliteStore

    old = os.umask(0o022)
    try:
        s = SqliteStore(tmp_path / "shared.db", tmp_path / "blobs")
    finally:
        os.umask(old)
    s.close()
    assert stat.S_IMODE((tmp_path / "shared.db").stat().st_mode) == 0o660


def test_chunk_vectors_live_with_their_chunks(store: Any) -> None:
    alice = _user(store)
    course = _course(store, alice)
    doc = _document(store, course)
    chunks = [Chunk(id=new_id(), document_id=doc.id, course_id=course.id, ordinal=i, page=1, text=f"t{i}",
                    search_text=f"t{i}") for i in range(3)]
    store.chunks.replace_for_document(doc.id, chunks)
    assert [c.id for c in store.vectors.missing("m1")] == [c.id for c in chunks]
    assert store.vectors.put("m1", {chunks[0].id: b"\x00\x00\x80?", chunks[1].id: b"\x00\x00\x00@",
                                    "no-such-chunk": b"1234"}) == 2
    assert store.vectors.for_course(course.id, "m1") == {chunks[0].id: b"\x00\x00\x80?",
                                                          chunks[1].id: b"\x00\x00\x00@"}
    assert store.vectors.for_course(course.id, "another-model") == {}
    assert [c.id for c in store.vectors.missing("m1", course_id=course.id)] == [chunks[2].id]
    assert store.vectors.missing("m1", course_id="other-course") == []
    assert store.chunks.get(chunks[0].id) == chunks[0]  # the chunk itself is unchanged
    store.chunks.replace_for_document(doc.id, chunks[:1])  # re-ingest: new rows, no vectors left behind
    assert store.vectors.for_course(course.id, "m1") == {}
    store.delete_document(doc.id)
    assert store.vectors.missing("m1") == []


def test_a_document_and_its_job_are_written_together(store: Any) -> None:
    """The intake outbox: both rows or neither; the job queued and not yet published."""
    owner = _user(store)
    course = _course(store, owner)
    document = Document(id=new_id(), course_id=course.id, owner_id=owner.id, display_name="notes.txt")
    job = Job(id=new_id(), type="ingest", queue="file_processing", owner_id=owner.id, course_id=course.id,
              document_id=document.id)
    written = store.documents.add_with_job(document, job)
    assert written.job_id == job.id and store.documents.get(document.id).job_id == job.id
    stored = store.jobs.get(job.id)
    assert (stored.state, stored.dispatched_at, stored.document_id) == ("queued", None, document.id)
    assert [j.id for j in store.jobs.due_for_dispatch(stored.created_at + 1, 0)] == [job.id]
    # A second document with the same job id: the job's write fails, and the document is not kept.
    other = Document(id=new_id(), course_id=course.id, owner_id=owner.id, display_name="other.txt")
    with pytest.raises(DuplicateError):
        store.documents.add_with_job(other, job)
    assert store.documents.get(other.id) is None
    assert [d.id for d in store.documents.list_for_course(course.id)] == [document.id]
