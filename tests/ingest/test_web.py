"""The documents blueprint: upload (API and form), paste, status, original file, page text, delete."""

from __future__ import annotations

import io
import re
import shutil
import time
from typing import Any

import pytest

from studybuddy.courses import create_course
from studybuddy.ingest import messages
from studybuddy.store.models import Artifact, Course, new_id
from studybuddy.web.bidi import isolate
from studybuddy.worker.handlers import default_handlers
from studybuddy.worker.runner import process_job

from ..conftest import csrf_token, login
from . import makers

L1 = "שלום עולם, זהו קורס 2024 של CS 101 מבוא (חלק א) ומחירו 50%."
L2 = "הפוטוסינתזה מתרחשת בעלים של הצמח."


@pytest.fixture
def course(services: Any, users: Any) -> Course:
    # Messages are compared with their English originals.
    for user in users.values():
        services.store.users.update(user.id, language="en")
    return create_course(services.store, users["alice"].id, "ביולוגיה")


@pytest.fixture
def alice(client: Any, users: Any) -> Any:
    login(client, "alice@example.com")
    return client


def upload(client: Any, course_id: str, files: list[tuple[bytes, str]], token: str | None = "auto",
           path: str = "/api/v1/courses/{}/documents") -> Any:
    data: dict[str, Any] = {"files": [(io.BytesIO(content), name) for content, name in files]}
    if token == "auto":
        token = csrf_token(client)
    if token:
        data["csrf_token"] = token
    return client.post(path.format(course_id), data=data, content_type="multipart/form-data")


def _owners(services: Any) -> set[str]:
    return {u.id for u in services.store.users.list()}


def run_all(services: Any) -> None:
    for owner in _owners(services):
        for job in services.store.jobs.list_for_owner(owner):
            if job.state == "queued":
                process_job(services, job.id, "web-test", default_handlers())


def test_upload_several_files_and_follow_them_to_ready(alice: Any, services: Any, course: Course) -> None:
    pdf = makers.visual_hebrew_pdf([[L1], [L2]])
    r = upload(alice, course.id, [(pdf, "סיכום.pdf"), ("הערות לשיעור".encode(), "הערות.txt")])
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["errors"] == []
    names = [d["name"] for d in body["documents"]]
    assert names == ["סיכום.pdf", "הערות.txt"]
    first = body["documents"][0]
    assert first["status"] == "uploaded" and first["kind"] == "pdf"

    run_all(services)
    status = alice.get(f"/api/v1/documents/{first['id']}").get_json()
    assert (status["status"], status["page_count"], status["progress"], status["error"]) == ("ready", 2, 100, "")
    listing = alice.get(f"/api/v1/courses/{course.id}/documents").get_json()["documents"]
    assert [d["status"] for d in listing] == ["ready", "ready"]

    # The original PDF opens in the browser, so #page=N works.
    r = alice.get(f"/documents/{first['id']}/file")
    assert r.status_code == 200 and r.data == pdf
    assert r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("inline")
    # Page text, with the extracted Hebrew in logical order.
    page = alice.get(f"/documents/{first['id']}/pages/2").get_data(as_text=True)
    assert L2 in page and "#page=2" in page
    assert alice.get(f"/documents/{first['id']}/pages/3").status_code == 404

    # The course page shows the panel with both documents.
    html = alice.get(f"/courses/{course.id}").get_data(as_text=True)
    assert 'class="card documents-panel"' in html and "סיכום<span class=\"file-ext\">.pdf</span>" in html \
        and "הערות<span class=\"file-ext\">.txt</span>" in html
    assert re.search(r"js/documents\.[0-9a-f]{12}\.js", html) and "<script>" not in html


def test_non_pdf_originals_download_with_their_hebrew_name(alice: Any, services: Any, course: Course) -> None:
    docx = makers.docx_bytes(["פסקה"])
    r = upload(alice, course.id, [(docx, "מטלה.docx")])
    doc_id = r.get_json()["documents"][0]["id"]
    r = alice.get(f"/documents/{doc_id}/file")
    assert r.status_code == 200 and r.data == docx
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert "%D7%9E%D7%98%D7%9C%D7%94.docx" in r.headers["Content-Disposition"]


def test_mixed_upload_reports_each_refused_file(alice: Any, services: Any, course: Course) -> None:
    r = upload(alice, course.id, [("טקסט".encode(), "a.txt"), (b"", "empty.txt"),
                                  (b"\x7fELF" + b"\0" * 60, "prog.pdf")])
    assert r.status_code == 201
    body = r.get_json()
    assert [d["name"] for d in body["documents"]] == ["a.txt"]
    assert [(e["name"], e["error"]) for e in body["errors"]] == [
        ("empty.txt", messages.EMPTY_FILE),
        ("prog.pdf", messages.EXTENSION_MISMATCH.format(name=isolate("prog.pdf"))),
    ]
    assert len(services.store.blobs.list_ids()) == 1


def test_all_refused_gives_the_error_status(alice: Any, services: Any, course: Course) -> None:
    r = upload(alice, course.id, [(b"\x1aE\xdf\xa3" + b"\0" * 60, "movie.mkv")])
    assert r.status_code == 415 and r.get_json()["error"] == messages.UNSUPPORTED_TYPE
    r = upload(alice, course.id, [(b"text", "../../x.txt")])
    assert r.status_code == 400 and r.get_json()["error"] == messages.BAD_FILE_NAME
    r = upload(alice, course.id, [])
    assert r.status_code == 400 and r.get_json()["error"] == messages.NO_FILES
    assert services.store.documents.list_for_course(course.id) == []
    assert services.store.blobs.list_ids() == []


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        chunk = super().readline(size)
        self.consumed += len(chunk)
        return chunk


def _multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    boundary = "----studybuddytestboundary"
    out = io.BytesIO()
    for name, filename, content in parts:
        out.write(f"--{boundary}\r\n".encode())
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.write(f"Content-Disposition: {disposition}\r\n".encode())
        if filename:
            out.write(b"Content-Type: application/octet-stream\r\n")
        out.write(b"\r\n" + content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def test_too_large_file_is_refused_with_413_before_the_body_is_read(
    alice: Any, app: Any, services: Any, course: Course
) -> None:
    services.config = services.config.replace(web={"max_upload_mb": 1})
    token = csrf_token(alice)
    big = b"a" * (3 * 1024 * 1024)
    body, content_type = _multipart([("csrf_token", None, token.encode()), ("files", "big.txt", big),
                                     ("files", "small.txt", b"small")])
    stream = CountingStream(body)
    r = alice.post(f"/api/v1/courses/{course.id}/documents", input_stream=stream,
                   content_type=content_type, content_length=len(body))
    assert r.status_code == 413
    # The batch names the file that was too large.
    assert r.get_json()["error"] == messages.TOO_LARGE_NAMED.format(name=isolate("big.txt"), limit=1)
    assert stream.consumed < 2 * 1024 * 1024, stream.consumed  # stopped soon after the limit
    assert services.store.documents.list_for_course(course.id) == []
    assert services.store.blobs.list_ids() == []
    # A body larger than any allowed upload is refused from its Content-Length alone.
    huge = CountingStream(b"x" * 10)
    r = alice.post(f"/api/v1/courses/{course.id}/documents", input_stream=huge, content_type=content_type,
                   environ_overrides={"CONTENT_LENGTH": str(100 * 1024 * 1024)})
    assert r.status_code == 413 and huge.consumed == 0


def test_upload_needs_the_csrf_token(alice: Any, services: Any, course: Course) -> None:
    r = upload(alice, course.id, [("טקסט".encode(), "a.txt")], token=None)
    assert r.status_code == 400
    r = upload(alice, course.id, [("טקסט".encode(), "a.txt")], token="forged")
    assert r.status_code == 400
    assert services.store.documents.list_for_course(course.id) == []
    assert services.store.blobs.list_ids() == []
    # The header works as well as the form field.
    body, content_type = _multipart([("files", "a.txt", "טקסט".encode())])
    r = alice.post(f"/api/v1/courses/{course.id}/documents", data=body, content_type=content_type,
                   headers={"X-CSRF-Token": csrf_token(alice)})
    assert r.status_code == 201


def test_a_form_part_without_a_name_is_ignored(alice: Any, services: Any, course: Course) -> None:
    """A part whose Content-Disposition names no field: the rest of the upload goes on."""
    body, content_type = _multipart([("files", "a.txt", "טקסט".encode())])
    boundary = content_type.split("boundary=")[1]
    nameless = f"--{boundary}\r\nContent-Disposition: form-data\r\n\r\nnull\r\n".encode()
    for headers in ({"X-CSRF-Token": csrf_token(alice)}, {}):
        r = alice.post(f"/api/v1/courses/{course.id}/documents", data=nameless + body, content_type=content_type,
                       headers=headers)
        assert r.status_code == (201 if headers else 400), r.get_data(as_text=True)
    assert [d.display_name for d in services.store.documents.list_for_course(course.id)] == ["a.txt"]


def test_pasted_text_needs_the_csrf_token_too(alice: Any, services: Any, course: Course) -> None:
    url = f"/api/v1/courses/{course.id}/documents/text"
    assert alice.post(url, json={"title": "a", "text": "טקסט"}).status_code == 400
    assert alice.post(url, json={"title": "a", "text": "טקסט"}, headers={"X-CSRF-Token": "forged"}).status_code == 400
    assert alice.post(url, data={"title": "a", "text": "טקסט"}).status_code == 400
    assert services.store.documents.list_for_course(course.id) == []


def test_the_self_checked_views_follow_the_csrf_setting_like_every_other_view(
        alice: Any, app: Any, services: Any, course: Course) -> None:
    """These views run the CSRF check themselves; turned off for the app, it is off for them too."""
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        assert upload(alice, course.id, [("טקסט".encode(), "a.txt")], token=None).status_code == 201
        r = alice.post(f"/api/v1/courses/{course.id}/documents/text", json={"title": "b", "text": "טקסט אחר"})
        assert r.status_code == 201
        r = alice.post(f"/api/v1/courses/{course.id}/documents/text", data={"title": "c", "text": "עוד טקסט"})
        assert r.status_code == 201
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    assert len(services.store.documents.list_for_course(course.id)) == 3
    assert upload(alice, course.id, [("שוב".encode(), "d.txt")], token=None).status_code == 400


def test_form_upload_and_paste_redirect_back_to_the_course(alice: Any, services: Any, course: Course) -> None:
    r = upload(alice, course.id, [("טקסט".encode(), "a.txt")], path="/courses/{}/documents")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/courses/{course.id}#documents")
    r = alice.post(f"/courses/{course.id}/documents/text",
                   data={"csrf_token": csrf_token(alice), "title": "הדבקה", "text": "טקסט מודבק על תאים"})
    assert r.status_code == 302
    page = alice.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "הדבקה" in page and "a<span class=\"file-ext\">.txt</span>" in page  # the extension kept with its name
    r = alice.post(f"/courses/{course.id}/documents/text",
                   data={"csrf_token": csrf_token(alice), "title": "ריק", "text": "   "})
    assert r.status_code == 400
    assert len(services.store.documents.list_for_course(course.id)) == 2


def test_paste_api(alice: Any, services: Any, course: Course) -> None:
    token = csrf_token(alice)
    r = alice.post(f"/api/v1/courses/{course.id}/documents/text", json={"title": "סיכום", "text": "המיטוזה"},
                   headers={"X-CSRF-Token": token})
    assert r.status_code == 201
    doc_id = r.get_json()["document"]["id"]
    run_all(services)
    assert alice.get(f"/api/v1/documents/{doc_id}").get_json()["status"] == "ready"
    r = alice.post(f"/api/v1/courses/{course.id}/documents/text", json={"title": "", "text": "x"},
                   headers={"X-CSRF-Token": token})
    assert r.status_code == 400 and r.get_json()["error"] == messages.TITLE_REQUIRED
    r = alice.post(f"/api/v1/courses/{course.id}/documents/text", json={"title": "a", "text": "x"})
    assert r.status_code == 400  # no CSRF token


def test_failed_document_shows_its_reason_and_dead_jobs_show_as_failed(
    alice: Any, services: Any, course: Course
) -> None:
    r = upload(alice, course.id, [(makers.encrypted_pdf(), "locked.pdf")])
    doc_id = r.get_json()["documents"][0]["id"]
    run_all(services)
    status = alice.get(f"/api/v1/documents/{doc_id}").get_json()
    assert (status["status"], status["error"]) == ("failed", messages.PASSWORD_PDF)
    html = alice.get(f"/courses/{course.id}").get_data(as_text=True)
    assert messages.PASSWORD_PDF.split(".")[0] in html
    # A job the worker gave up on (dead) leaves the document looking failed, not stuck.
    r = upload(alice, course.id, [("טקסט".encode(), "b.txt")])
    doc = r.get_json()["documents"][0]
    job = services.store.jobs.get(doc["job_id"])
    claimed = services.store.jobs.claim(job.id, "w", 30, time.time())
    assert claimed is not None
    services.store.jobs.finish(job.id, claimed.lease_token, "dead", time.time(),
                               error_user="This task failed too many times.")
    status = alice.get(f"/api/v1/documents/{doc['id']}").get_json()
    assert (status["status"], status["error"]) == ("failed", "This task failed too many times.")


def test_delete_takes_chunks_pages_blob_and_artifacts(alice: Any, services: Any, course: Course) -> None:
    r = upload(alice, course.id, [("המיטוכונדריה היא תחנת הכוח".encode(), "a.txt")])
    doc = r.get_json()["documents"][0]
    run_all(services)
    store = services.store
    store.artifacts.add(Artifact(id=new_id(), owner_id=course.owner_id, course_id=course.id, kind="summary",
                                 content={"text": "x"}, document_id=doc["id"]))
    blob_id = store.documents.get(doc["id"]).blob_id
    assert services.retrieval.search(course.id, "מיטוכונדריה")
    r = alice.delete(f"/api/v1/documents/{doc['id']}", headers={"X-CSRF-Token": csrf_token(alice)})
    assert r.status_code == 200
    assert store.documents.get(doc["id"]) is None
    assert store.pages.list_for_document(doc["id"]) == []
    assert store.chunks.list_for_document(doc["id"]) == []
    assert not store.blobs.exists(blob_id)
    assert store.artifacts.list_for_course(course.id) == []
    assert services.retrieval.search(course.id, "מיטוכונדריה") == []
    assert alice.get(f"/api/v1/documents/{doc['id']}").status_code == 404
    # The form way.
    r = upload(alice, course.id, [("טקסט".encode(), "b.txt")])
    doc = r.get_json()["documents"][0]
    r = alice.post(f"/documents/{doc['id']}/delete", data={"csrf_token": csrf_token(alice)})
    assert r.status_code == 302 and store.documents.get(doc["id"]) is None


def test_bob_gets_404_for_alices_documents(client: Any, services: Any, users: Any, course: Course) -> None:
    login(client, "alice@example.com")
    r = upload(client, course.id, [("טקסט של אליס".encode(), "alice.txt")])
    doc_id = r.get_json()["documents"][0]["id"]
    run_all(services)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, "bob@example.com")
    token = csrf_token(client)
    headers = {"X-CSRF-Token": token}
    assert upload(client, course.id, [(b"bob", "bob.txt")]).status_code == 404
    assert upload(client, course.id, [(b"bob", "bob.txt")], path="/courses/{}/documents").status_code == 404
    assert client.post(f"/courses/{course.id}/documents/text",
                       data={"csrf_token": token, "title": "b", "text": "b"}).status_code == 404
    assert client.post(f"/api/v1/courses/{course.id}/documents/text", json={"title": "b", "text": "b"},
                       headers=headers).status_code == 404
    assert client.get(f"/api/v1/courses/{course.id}/documents").status_code == 404
    assert client.get(f"/api/v1/documents/{doc_id}").status_code == 404
    assert client.get(f"/documents/{doc_id}/file").status_code == 404
    assert client.get(f"/documents/{doc_id}/pages/1").status_code == 404
    assert client.delete(f"/api/v1/documents/{doc_id}", headers=headers).status_code == 404
    assert client.post(f"/documents/{doc_id}/delete", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/api/v1/documents/{doc_id}/retry", headers=headers).status_code == 404
    assert client.post(f"/documents/{doc_id}/retry", data={"csrf_token": token}).status_code == 404
    store = services.store
    assert [d.display_name for d in store.documents.list_for_course(course.id)] == ["alice.txt"]
    assert store.documents.get(doc_id).status == "ready"
    assert len(store.blobs.list_ids()) == 1


def test_anonymous_upload_is_refused(client: Any, services: Any, course: Course) -> None:
    r = client.post(f"/api/v1/courses/{course.id}/documents", data={}, content_type="multipart/form-data")
    assert r.status_code in (302, 401)
    assert services.store.documents.list_for_course(course.id) == []


def test_slide_text_page(alice: Any, services: Any, course: Course) -> None:
    deck = makers.pptx_bytes([("כותרת ראשונה", "גוף", "הערות"), ("שקף שני", "טקסט", "")])
    r = upload(alice, course.id, [(deck, "הרצאה.pptx")])
    doc_id = r.get_json()["documents"][0]["id"]
    run_all(services)
    html = alice.get(f"/documents/{doc_id}/pages/2").get_data(as_text=True)
    assert "Slide 2 of 2" in html and "שקף שני" in html and "#page=" not in html
    assert f"/documents/{doc_id}/pages/1" in html  # the link back to slide 1


def test_retry_a_failed_document_once_ocr_is_there(alice: Any, services: Any, course: Course) -> None:
    good_config = services.config
    services.config = good_config.replace(ingest={"tesseract_cmd": "/nonexistent/tesseract"})
    r = upload(alice, course.id, [("הערות".encode(), "notes.txt")])
    ready_id = r.get_json()["documents"][0]["id"]
    r = upload(alice, course.id, [(makers.blank_image(), "photo.png")])
    doc_id = r.get_json()["documents"][0]["id"]
    run_all(services)
    status = alice.get(f"/api/v1/documents/{doc_id}").get_json()
    assert (status["status"], status["error"]) == ("failed", messages.OCR_MISSING)
    assert status["urls"]["retry"]
    token = csrf_token(alice)
    # Only failed documents go again; the retry needs the CSRF token and is owner-only.
    r = alice.post(f"/api/v1/documents/{ready_id}/retry", headers={"X-CSRF-Token": token})
    assert r.status_code == 409 and r.get_json()["error"] == messages.NOT_FAILED
    assert alice.post(f"/api/v1/documents/{doc_id}/retry").status_code == 400
    services.config = good_config
    r = alice.post(f"/documents/{doc_id}/retry", data={"csrf_token": token})
    assert r.status_code == 302
    status = alice.get(f"/api/v1/documents/{doc_id}").get_json()
    assert (status["status"], status["error"]) == ("uploaded", "")
    run_all(services)
    status = alice.get(f"/api/v1/documents/{doc_id}").get_json()
    if shutil.which("tesseract"):
        # Now OCR runs: the blank photo fails for its real reason.
        assert (status["status"], status["error"]) == ("failed", messages.NO_TEXT)


def test_the_same_file_twice_in_a_course_is_refused_and_named(
    alice: Any, services: Any, course: Course, users: Any
) -> None:
    data = "סיכום שיעור ראשון על תאים".encode()
    r = upload(alice, course.id, [(data, "first.txt")])
    assert r.status_code == 201
    r = upload(alice, course.id, [(data, "copy.txt"), (b"other text entirely", "other.txt")])
    body = r.get_json()
    assert [e["name"] for e in body["errors"]] == ["copy.txt"]
    assert body["errors"][0]["error"] == messages.DUPLICATE.format(name=isolate("first.txt"))
    assert sorted(d.display_name for d in services.store.documents.list_for_course(course.id)) == [
        "first.txt", "other.txt"]
    assert len(services.store.blobs.list_ids()) == 2
    # Another course of hers takes the same bytes.
    other = create_course(services.store, users["alice"].id, "קורס שני")
    assert upload(alice, other.id, [(data, "first.txt")]).status_code == 201


def test_document_page_shows_docx_headings_as_headings(alice: Any, services: Any, course: Course) -> None:
    import docx

    document = docx.Document()
    document.add_heading("פרק ראשון: התא", level=1)
    document.add_paragraph("התא הוא יחידת החיים.")
    document.add_heading("המבנה", level=2)
    document.add_paragraph("גרעין", style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    assert upload(alice, course.id, [(buffer.getvalue(), "notes.docx")]).status_code == 201
    run_all(services)
    (doc,) = services.store.documents.list_for_course(course.id)
    assert services.store.pages.get(doc.id, 1).text.split("\n") == [
        "# פרק ראשון: התא", "התא הוא יחידת החיים.", "## המבנה", "- גרעין"]
    page = alice.get(f"/documents/{doc.id}/pages/1").get_data(as_text=True)
    assert '<h2 dir="auto">פרק ראשון: התא</h2>' in page
    assert '<h3 dir="auto">המבנה</h3>' in page
    assert '<li dir="auto">גרעין</li>' in page
    assert "# פרק" not in page
    course_page = alice.get(f"/courses/{course.id}").get_data(as_text=True)
    assert '<li class="outline-1" dir="auto">' in course_page and "פרק ראשון: התא" in course_page


def test_a_backslash_in_a_file_name_is_refused_not_dropped(alice: Any, services: Any, course: Course) -> None:
    """Browsers send backslashes as they are; the form parser alone would drop them."""
    body, content_type = _multipart([("csrf_token", None, csrf_token(alice).encode()),
                                     ("files", "dir\\notes.txt", "טקסט".encode())])
    r = alice.post(f"/api/v1/courses/{course.id}/documents", data=body, content_type=content_type)
    assert r.status_code == 400
    assert r.get_json()["errors"][0]["error"] == messages.BAD_FILE_NAME
    assert services.store.documents.list_for_course(course.id) == []
