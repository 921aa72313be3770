"""The course material panel in a real browser: drag and drop, per-file errors, live status."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from studybuddy.accounts import create_user
from studybuddy.courses import create_course
from tests.browser.conftest import context, live, page, playwright, watch  # noqa: F401 - fixtures
from tests.conftest import PASSWORD

from . import makers

pytestmark = pytest.mark.browser

DROP = """
([zone, files]) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
    transfer.items.add(new File([bytes], f.name, {type: f.type}));
  }
  const target = document.querySelector(zone);
  for (const type of ["dragenter", "dragover", "drop"]) {
    target.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
  }
}
"""


def open_new_course(page: Any, live: Any, email: str, name: str, course_name: str) -> Any:  # noqa: F811
    """A new student with a new course, logged in, on the course page."""
    store = live.services.store
    user = create_user(store, email, PASSWORD, name)
    course = create_course(store, user.id, course_name)
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/library")
    page.goto(f"/courses/{course.id}")
    return course


def test_drop_files_on_the_panel_and_watch_them_become_ready(page: Any, live: Any) -> None:  # noqa: F811
    open_new_course(page, live, "dana@example.com", "דנה", "כימיה")
    assert page.locator(".documents-panel [data-role=no-documents]").count() == 1

    files = [
        {"name": "מולקולות.pdf", "type": "application/pdf",
         "data": base64.b64encode(makers.visual_hebrew_pdf([["מולקולה היא צירוף של אטומים"]])).decode()},
        {"name": "program.pdf", "type": "application/pdf",
         "data": base64.b64encode(b"\x7fELF" + b"\0" * 64).decode()},
        {"name": "נעול.pdf", "type": "application/pdf",
         "data": base64.b64encode(makers.encrypted_pdf()).decode()},
    ]
    page.evaluate(DROP, ["[data-role=drop-zone]", files])

    status = page.locator("[data-role=upload-status]")
    status.filter(has_text="program.pdf").wait_for(timeout=30_000)
    ready = page.locator("[data-document-id][data-status=ready]")
    ready.wait_for(timeout=90_000)
    assert "מולקולות.pdf" in ready.text_content()
    link = ready.locator("a[data-role=name]")
    assert link.count() == 1
    failed = page.locator("[data-document-id][data-status=failed]")
    failed.wait_for(timeout=90_000)
    assert "נעול.pdf" in failed.text_content()
    assert failed.locator("[data-role=error]").text_content().strip()
    assert failed.locator("[data-role=retry]").count() == 1
    assert page.locator("[data-document-id]").count() == 2  # the refused file was not added

    link.click()
    page.wait_for_url("**/pages/1")
    assert "מולקולה היא צירוף של אטומים" in page.text_content("article.page-text")


def test_docx_headings_show_as_headings_on_the_document_and_course_pages(page: Any, live: Any) -> None:  # noqa: F811
    import io

    import docx

    from tests.browser.conftest import screenshot

    document = docx.Document()
    document.add_heading("פרק 2: ביקוש והיצע", level=1)
    document.add_paragraph("חוק הביקוש (Law of Demand) קובע כי המחיר משפיע.")
    document.add_heading("מושגי יסוד", level=2)
    document.add_paragraph("ביקוש: הכמות שהצרכנים רוצים לקנות.", style="List Bullet")
    document.add_paragraph("היצע: הכמות שהיצרנים מוכנים למכור.", style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    course = open_new_course(page, live, "noa@example.com", "נועה", "כלכלה")
    files = [{"name": "סיכום.docx", "type": "application/octet-stream",
              "data": base64.b64encode(buffer.getvalue()).decode()}]
    page.evaluate(DROP, ["[data-role=drop-zone]", files])
    ready = page.locator("[data-document-id][data-status=ready]")
    ready.wait_for(timeout=90_000)

    ready.locator("a[data-role=name]").click()
    page.wait_for_url("**/pages/1")
    article = page.locator("article.page-text")
    assert article.locator("h2").text_content() == "פרק 2: ביקוש והיצע"
    assert article.locator("h3").text_content() == "מושגי יסוד"
    assert article.locator("li").all_text_contents() == [
        "ביקוש: הכמות שהצרכנים רוצים לקנות.", "היצע: הכמות שהיצרנים מוכנים למכור."]
    assert "#" not in article.text_content()
    screenshot(page, "document-headings")

    page.goto(f"/courses/{course.id}")
    outline = page.locator("ul.outline li")
    assert outline.all_text_contents() == ["פרק 2: ביקוש והיצע", "מושגי יסוד"]
    screenshot(page, "course-outline")
    outline.first.locator("a").click()
    page.wait_for_url("**/pages/1")
