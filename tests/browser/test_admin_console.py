"""The administrator's console in a real browser, in Hebrew and in English: find a student,
disable and enable the account, see it in the audit log; a student sees no console at all."""

from __future__ import annotations

from typing import Any

from studybuddy.accounts import create_user
from tests.conftest import PASSWORD

from .conftest import LiveApp, screenshot


def _log_in(page: Any, email: str) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/library")


def test_console_in_hebrew_and_english(page: Any, context: Any, live: LiveApp) -> None:
    store = live.services.store
    create_user(store, "head@school.example", PASSWORD, "מנהלת", is_admin=True)
    student = create_user(store, "yael@school.example", PASSWORD, "יעל", is_admin=False)
    _log_in(page, "head@school.example")

    # Hebrew first.
    page.click("nav.main-nav a[href='/admin']")
    page.wait_for_url("**/admin")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.text_content("h1") == "ניהול"
    screenshot(page, "admin-overview-he")
    page.click("nav.admin-nav a[href='/admin/users']")
    page.fill("#q", "yael")
    page.click("form.search-form button[type=submit]")
    row = page.locator(f"tr[data-user-id='{student.id}']")
    assert row.count() == 1 and page.locator("tr[data-user-id]").count() == 1
    row.locator("a").click()
    page.wait_for_url(f"**/admin/users/{student.id}")
    page.click("button[data-action=disable]")
    page.wait_for_selector("[data-state]")
    assert page.text_content("[data-state]") == "מושבת"
    assert "החשבון הושבת" in page.text_content("p.flash")
    screenshot(page, "admin-user-he")
    assert store.users.get(student.id).disabled

    # The same console in English.
    page.click("button[data-switch-language=en]")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.get_attribute("html", "dir") == "ltr"
    assert page.text_content("h1") == "Administration"
    page.click("button[data-action=enable]")
    page.wait_for_selector("text=The account was enabled.")
    assert page.text_content("[data-state]") == "active"
    page.click("nav.admin-nav a[href='/admin/audit']")
    audit = page.locator("table[data-audit] tbody tr")
    assert audit.count() == 2 and "enable" in audit.nth(0).text_content()
    assert "yael@school.example" in audit.nth(1).text_content()
    page.click("nav.admin-nav a[href='/admin/jobs']")
    assert page.locator("table[data-jobs]").count() == 1
    page.click("nav.admin-nav a[href='/admin/monitor']")
    assert page.locator("table[data-health] tbody tr").count() >= 1
    screenshot(page, "admin-monitor-en")


def test_a_student_finds_no_console(page: Any, live: LiveApp) -> None:
    create_user(live.services.store, "noam@school.example", PASSWORD, "נועם", is_admin=False)
    _log_in(page, "noam@school.example")
    assert page.locator("nav.main-nav a[href='/admin']").count() == 0
    response = page.goto("/admin/users")
    assert response.status == 404


def test_settings_list_this_device_and_log_out_everywhere(page: Any, live: LiveApp) -> None:
    create_user(live.services.store, "dana@school.example", PASSWORD, "דנה", is_admin=False)
    _log_in(page, "dana@school.example")
    page.goto("/settings")
    rows = page.locator("table[data-sessions] tbody tr")
    assert rows.count() == 1 and "המכשיר הזה" in rows.nth(0).text_content()
    assert "Chrom" in rows.nth(0).text_content()
    screenshot(page, "settings-sessions-he")
    page.click("button[data-end-all]")
    page.wait_for_url("**/login**")
    assert "/login?next=" in page.goto("/library").url
