"""Messages stored in English by the worker are shown in the student's language, formatted ones too."""

from __future__ import annotations

from typing import Any

from studybuddy.courses import create_course
from studybuddy.ingest import messages
from studybuddy.store.models import Document, new_id
from studybuddy.web.i18n import translate_stored

from ..conftest import csrf_token, login


def test_formatted_templates_are_translated(app: Any) -> None:
    stored = messages.TOO_MANY_PAGES.format(pages=812, limit=500)
    with app.test_request_context(headers={"Accept-Language": "he"}):
        he = translate_stored(stored)
        assert he != stored and "812" in he and "500" in he
        assert any("\u0590" <= c <= "\u05ff" for c in he)
        assert translate_stored("no such message 42") == "no such message 42"
        assert translate_stored("") == ""


def test_document_errors_reach_the_page_and_api_translated(client: Any, users: Any, services: Any) -> None:
    course = create_course(services.store, users["alice"].id, "כימיה")
    stored = messages.TOO_MANY_PAGES.format(pages=812, limit=500)
    services.store.documents.add(Document(id=new_id(), course_id=course.id, owner_id=users["alice"].id,
                                          display_name="big.pdf", status="failed", error=stored))
    login(client, "alice@example.com")
    client.post("/language/he", data={"csrf_token": csrf_token(client)})
    body = client.get(f"/api/v1/courses/{course.id}").get_json()
    error = body["documents"][0]["error"]
    assert error != stored and "812" in error
    assert error in client.get(f"/courses/{course.id}").get_data(as_text=True)
    client.post("/language/en", data={"csrf_token": csrf_token(client)})
    assert client.get(f"/api/v1/courses/{course.id}").get_json()["documents"][0]["error"] == stored
