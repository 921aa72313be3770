"""The ingest job end to end through the worker's job runner: statuses, results, failures, leftovers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from studybuddy.ingest import messages
from studybuddy.ingest.detect import Rejected
from studybuddy.ingest.upload import accept_file, accept_text, remove_document
from studybuddy.services import Services
from studybuddy.store.models import Course, Document, User, new_id
from studybuddy.worker.handlers import default_handlers
from studybuddy.worker.runner import process_job

from . import makers

needs_ocr = pytest.mark.usefixtures("ocr")

L1 = "שלום עולם, זהו קורס 2024 של CS 101 מבוא (חלק א) ומחירו 50%."
L2 = "הפוטוסינתזה מתרחשת בעלים של הצמח בעזרת אור השמש."


@pytest.fixture
def course(services: Services, users: dict[str, User]) -> Course:
    return services.store.courses.add(Course(id=new_id(), owner_id=users["alice"].id, name="ביולוגיה"))


def run(services: Services, document: Document) -> str:
    return process_job(services, document.job_id, "test-worker", default_handlers())


def leftovers(services: Services, document: Document) -> tuple[int, int]:
    store = services.store
    return len(store.pages.list_for_document(document.id)), len(store.chunks.list_for_document(document.id))


def test_upload_then_ingest_makes_pages_chunks_and_search_hits(services: Services, course: Course) -> None:
    data = makers.visual_hebrew_pdf([[L1], [L2]])
    document = accept_file(services, course, "סיכום שיעור 1.pdf", data)
    store = services.store
    assert document.status == "uploaded" and document.kind == "pdf" and document.size == len(data)
    assert document.display_name == "סיכום שיעור 1.pdf"
    assert document.blob_id and document.blob_id not in document.display_name
    assert store.blobs.get(document.blob_id) == data
    job = store.jobs.get(document.job_id)
    assert job is not None and (job.type, job.queue, job.document_id) == ("ingest", "file_processing", document.id)

    assert run(services, document) == "succeeded"
    done = store.documents.get(document.id)
    assert done is not None and (done.status, done.error, done.page_count) == ("ready", "", 2)
    assert [p.text for p in store.pages.list_for_document(document.id)] == [L1, L2]
    chunks = store.chunks.list_for_document(document.id)
    assert [(c.page, c.text) for c in chunks] == [(1, L1), (2, L2)]
    job = store.jobs.get(document.job_id)
    assert job is not None and (job.progress, job.result_ref) == (100, document.id)

    hits = services.retrieval.search(course.id, "ופוטוסינתזה")
    assert hits[0].chunk.page == 2 and hits[0].document_name == "סיכום שיעור 1.pdf"


def test_pasted_text_becomes_a_document(services: Services, course: Course) -> None:
    document = accept_text(services, course, "הערות", "המיטוכונדריה היא תחנת הכוח של התא")
    assert (document.kind, document.mime) == ("txt", "text/plain")
    assert run(services, document) == "succeeded"
    assert services.retrieval.search(course.id, "המיטוכונדריה")[0].chunk.document_id == document.id


BAD_FILES: list[tuple[str, Callable[[], bytes], str]] = [
    ("broken.pdf", lambda: b"%PDF-1.4\n1 0 obj garbage", messages.CORRUPT_PDF),
    ("locked.pdf", makers.encrypted_pdf, messages.PASSWORD_PDF),
    ("bomb.docx", lambda: makers.zip_bomb_docx(300), messages.ZIP_BOMB),
    ("blank.png", makers.blank_image, messages.NO_TEXT),
    ("long.pdf", lambda: makers.latin_pdf(["1", "2", "3", "4"]), messages.TOO_MANY_PAGES.format(pages=4, limit=3)),
]


@pytest.mark.parametrize("name,make,message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_fail_with_their_reason_and_leave_nothing_behind(
    services: Services, course: Course, name: str, make: Callable[[], bytes], message: str, request: Any
) -> None:
    if name.endswith(".png"):
        request.getfixturevalue("ocr")
    services.config = services.config.replace(ingest={"max_pages": 3})
    document = accept_file(services, course, name, make())
    assert run(services, document) == "failed"
    store = services.store
    failed = store.documents.get(document.id)
    assert failed is not None and (failed.status, failed.error) == ("failed", message)
    job = store.jobs.get(document.job_id)
    assert job is not None and (job.state, job.error_user) == ("failed", message)
    assert leftovers(services, document) == (0, 0)
    assert store.chunks.count_for_course(course.id) == 0
    # The student sees the failed document; deleting it removes its file too.
    assert store.blobs.exists(document.blob_id)
    remove_document(services, failed)
    assert store.documents.get(document.id) is None
    assert not store.blobs.exists(document.blob_id)


@needs_ocr
def test_missing_ocr_fails_the_document_and_the_worker_goes_on(services: Services, course: Course) -> None:
    good_config = services.config
    services.config = good_config.replace(ingest={"tesseract_cmd": "/nonexistent/tesseract"})
    photo = accept_file(services, course, "photo.png", makers.image_bytes(["שלום עולם"]))
    assert run(services, photo) == "failed"
    failed = services.store.documents.get(photo.id)
    assert failed is not None and failed.error == "OCR is not installed on this server"
    assert leftovers(services, photo) == (0, 0)
    # The same runner carries on with the next document.
    text = accept_file(services, course, "notes.txt", "הערות לשיעור".encode())
    assert run(services, text) == "succeeded"
    services.config = good_config
    retry = accept_file(services, course, "photo.png", makers.image_bytes(["שלום עולם"]))
    assert run(services, retry) == "succeeded"
    assert [p.text.strip() for p in services.store.pages.list_for_document(retry.id)] == ["שלום עולם"]


def test_reingest_replaces_and_failure_clears_old_chunks(services: Services, course: Course) -> None:
    document = accept_file(services, course, "notes.txt", "טקסט ראשון".encode())
    assert run(services, document) == "succeeded"
    assert leftovers(services, document) == (1, 1)
    # The file goes missing on disk; a new ingest of the document fails and removes the old results.
    services.store.blobs.delete(document.blob_id)
    from studybuddy.jobs.service import submit_job

    job = submit_job(services, "ingest", course.owner_id, course_id=course.id, document_id=document.id)
    assert process_job(services, job.id, "test-worker", default_handlers()) == "failed"
    failed = services.store.documents.get(document.id)
    assert failed is not None and (failed.status, failed.error) == ("failed", messages.FILE_MISSING)
    assert leftovers(services, document) == (0, 0)
    assert services.retrieval.search(course.id, "ראשון") == []


def test_document_deleted_before_its_job_runs(services: Services, course: Course) -> None:
    document = accept_file(services, course, "notes.txt", "טקסט".encode())
    remove_document(services, document)
    assert run(services, document) == "succeeded"
    assert leftovers(services, document) == (0, 0)


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("empty.pdf", b"", messages.EMPTY_FILE),
        ("tool.pdf", b"\x7fELF\x02\x01\x01" + b"\0" * 64, messages.EXTENSION_MISMATCH.format(name="tool.pdf")),
        ("movie.mkv", b"\x1aE\xdf\xa3" + b"\0" * 64, messages.UNSUPPORTED_TYPE),
        ("../../etc/passwd.txt", b"text", messages.BAD_FILE_NAME),
        ("dir\\notes.txt", b"text", messages.BAD_FILE_NAME),
        ("notes\x00.txt", b"text", messages.BAD_FILE_NAME),
        ("notes\n.txt", b"text", messages.BAD_FILE_NAME),
        ("evil\u202etxt.exe", b"text", messages.BAD_FILE_NAME),
        ("", b"text", messages.NO_FILE_NAME),
    ],
)
def test_rejected_uploads_store_nothing(
    services: Services, course: Course, name: str, data: bytes, message: str
) -> None:
    with pytest.raises(Rejected) as caught:
        accept_file(services, course, name, data)
    assert caught.value.message == message
    store = services.store
    assert store.documents.list_for_course(course.id) == []
    assert store.blobs.list_ids() == []
    assert store.jobs.list_for_owner(course.owner_id) == []


def test_too_large_upload_is_refused(services: Services, course: Course) -> None:
    services.config = services.config.replace(web={"max_upload_mb": 1})
    with pytest.raises(Rejected) as caught:
        accept_file(services, course, "big.txt", b"a" * (1024 * 1024 + 1))
    assert caught.value.status == 413
    assert services.store.blobs.list_ids() == []


def test_ingest_on_the_mongodb_store(cfg: Any, users: dict[str, User]) -> None:
    """The same pipeline over the MongoDB store (mongomock; GridFS for the file)."""
    import mongomock
    import mongomock.gridfs

    from studybuddy.store.mongo import MongoStore

    mongomock.gridfs.enable_gridfs_integration()
    store = MongoStore("mongodb://localhost/studybuddy_ingest", client=mongomock.MongoClient())
    services = Services(cfg, store=store)
    try:
        owner = store.users.add(User(id=new_id(), email="m@example.com", password_hash="x"))
        course = store.courses.add(Course(id=new_id(), owner_id=owner.id, name="מונגו"))
        good = accept_file(services, course, "סיכום.pdf", makers.visual_hebrew_pdf([[L1], [L2]]))
        bad = accept_file(services, course, "locked.pdf", makers.encrypted_pdf())
        assert run(services, good) == "succeeded"
        assert run(services, bad) == "failed"
        assert [c.page for c in store.chunks.list_for_document(good.id)] == [1, 2]
        assert leftovers(services, bad) == (0, 0)
        assert services.retrieval.search(course.id, "והפוטוסינתזה")[0].chunk.page == 2
        remove_document(services, good)
        assert not store.blobs.exists(good.blob_id)
        assert services.retrieval.search(course.id, "פוטוסינתזה") == []
    finally:
        services.close()


def test_a_parser_killed_for_a_limit_fails_the_document_once_and_the_worker_goes_on(
    services: Services, course: Course
) -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8000, 8000), "white").save(buffer, format="PNG")
    good_config = services.config
    services.config = good_config.replace(ingest={"parse_memory_mb": 100, "max_image_pixels": 400_000_000})
    photo = accept_file(services, course, "huge.png", buffer.getvalue())
    assert run(services, photo) == "failed"
    failed = services.store.documents.get(photo.id)
    assert failed is not None and (failed.status, failed.error) == ("failed", messages.TOO_COMPLEX)
    job = services.store.jobs.get(photo.job_id)
    assert job is not None and (job.state, job.attempts, job.error_user) == ("failed", 1, messages.TOO_COMPLEX)
    assert leftovers(services, photo) == (0, 0)
    # A second delivery of the same message does not run it again.
    assert run(services, photo) == "skipped"
    services.config = good_config
    text = accept_file(services, course, "notes.txt", "הערות לשיעור".encode())
    assert run(services, text) == "succeeded"
