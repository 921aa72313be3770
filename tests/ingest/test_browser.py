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


def test_drop_files_on_the_panel_and_watch_them_become_ready(page: Any, live: Any) -> None:  # noqa: F811
    store = live.services.store
    user = create_user(store, "dana@example.com", PASSWORD, "דנה")
    course = create_course(store, user.id, "כימיה")
    page.goto("/login")
    page.fill("#email", "dana@example.com")
    page.fill("#password", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/library")
    page.goto(f"/courses/{course.id}")
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
