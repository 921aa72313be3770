"""The study tools in a real browser: every tool from its form to its cited result, no CSP breakage."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from studybuddy.accounts import create_user
from tests.browser.conftest import context, live, page, playwright, screenshot, watch  # noqa: F401 - fixtures
from tests.conftest import PASSWORD
from tests.study.conftest import add_course
from tests.study.study_material import ENGLISH, HEBREW

pytestmark = pytest.mark.browser


def _login(page: Any, email: str) -> None:  # noqa: F811
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/library$"))


def test_every_tool_from_form_to_cited_result(page: Any, live: Any, watch: Any) -> None:  # noqa: F811
    store = live.services.store
    user = create_user(store, "tamar@example.com", PASSWORD, "תמר")
    course, document = add_course(live.services, user, HEBREW, name="ביולוגיה")
    _login(page, "tamar@example.com")
    tools = f"/courses/{course.id}/tools"

    def run(section: str, fill: Any = None) -> None:
        page.goto(tools)
        if fill:
            fill()
        page.locator(f"#{section} form button[type=submit]").first.click()
        page.wait_for_url(re.compile(r".*/(results|quizzes)/[0-9a-f]+$"), timeout=30_000)

    def exam_style() -> None:  # the options are one tap away, in a disclosure
        page.locator("#summary details.options > summary").click()
        page.select_option("#summary-style", "exam")

    run("summary", exam_style)
    assert page.locator("article.prose h3").count() >= 2
    cite = page.locator("article.prose a.cite").first
    assert re.fullmatch(rf"/documents/{document.id}/file#page=\d+", cite.get_attribute("href"))
    screenshot(page, "tools-summary")

    run("flashcards")
    first = page.locator(".flashcard details").first
    assert not first.locator(".back").is_visible()
    first.locator("summary").click()
    assert first.locator(".back").is_visible()

    run("glossary")
    page.goto(f"/courses/{course.id}/glossary")
    page.fill("#glossary-q", "הכלורופיל")
    page.locator("form[role=search] button").click()
    assert page.locator(".glossary dt").first.inner_text() == "כלורופיל"

    run("homework", lambda: page.fill("#homework-problem", "למה צמחים סוגרים את הפיוניות בימים חמים?"))
    assert page.locator("article.prose ol li").count() >= 4

    run("quiz")
    page.locator('input[name="q0"]').first.check()
    page.locator("form.quiz button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/quiz-attempts/[0-9a-f]+$"))
    assert page.locator(".score").count() == 1 and page.locator(".explanation").count() >= 1
    screenshot(page, "tools-quiz-results")

    page.goto(f"/courses/{course.id}/chat")
    page.fill("#chat-question", "מה זה כלורופיל?")
    page.locator(".chat-form button[type=submit]").click()
    # the answer replaces the "thinking" bubble as soon as its job is done, without a reload
    page.wait_for_selector(".message-assistant .sources-inline a", timeout=30_000)
    assert page.locator(".pending").count() == 0
    assert "פיגמנט ירוק" in page.locator(".message-assistant").last.inner_text()
    screenshot(page, "tools-chat")
    assert not watch.errors, watch.errors


def test_chat_answer_arrives_on_a_phone(page: Any, live: Any, watch: Any) -> None:  # noqa: F811
    store = live.services.store
    user = create_user(store, "omer@example.com", PASSWORD, "Omer")
    course, _ = add_course(live.services, user, ENGLISH, name="Biology")
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, "omer@example.com")
    page.goto(f"/courses/{course.id}/chat")
    page.fill("#chat-question", "Why do plants close their stomata?")
    page.keyboard.press("Enter")  # Enter sends, as in any chat
    page.wait_for_selector(".message-assistant .sources-inline a", timeout=30_000)
    answer = page.locator(".message-assistant").last.inner_text()
    assert "save water" in answer and "material" in answer  # an English question gets an English answer
    screenshot(page, "tools-chat-phone")
    assert not watch.errors, watch.errors


def test_mind_map_study_guide_and_faq_from_the_course_page(page: Any, live: Any, watch: Any) -> None:  # noqa: F811
    from tests.study.test_formats import STRUCTURED

    store = live.services.store
    user = create_user(store, "noa@example.com", PASSWORD, "נועה")
    course, _ = add_course(live.services, user, STRUCTURED, name="מיקרו")
    _login(page, "noa@example.com")

    def make(tool: str, section: str) -> None:
        """One tap on the course page; the result appears in its list of recent work."""
        page.goto(f"/courses/{course.id}")
        before = page.locator("[data-role=work-list] > li[data-job-id]").count()
        page.locator(f"form[data-start-tool] button[formaction$='/tools/{tool}']").click()
        page.wait_for_function(f"() => document.querySelectorAll('[data-role=work-list] > li[data-job-id]')"
                               f".length > {before}")
        link = page.locator("[data-role=work-list] > li").first.locator("a.work-title")
        link.wait_for(timeout=30_000)
        link.click()
        page.wait_for_url(re.compile(r".*/results/[0-9a-f]+$"), timeout=30_000)

    # Hebrew: the map reads from the right; its centre is the lecture's title
    make("mind_map", "mind_map")
    svg = page.locator("svg.mind-map")
    assert svg.is_visible()
    centre = page.locator("svg.mind-map g.node-0 rect").bounding_box()
    branches = page.locator("svg.mind-map g.node-1 rect")
    assert branches.count() == 3
    assert centre["x"] > branches.first.bounding_box()["x"], "RTL: the centre stands on the right"
    assert "הרצאה 3" in (page.locator("svg.mind-map g.node-0 text").text_content() or "")
    screenshot(page, "tools-mind-map-he")

    make("study_guide", "study_guide")
    assert page.locator(".study-guide h2").count() >= 3
    first = page.locator(".guide-questions details").first
    first.locator("summary").click()
    assert first.locator(".answer").is_visible()

    # English: switch the interface, make the FAQ in English, and an English mind map reads from the left
    page.goto(f"/courses/{course.id}")
    page.locator(".main-nav button[data-switch-language=en]").click()
    page.wait_for_load_state()
    page.goto(f"/courses/{course.id}/tools")
    page.locator("#faq details.options > summary").click()
    page.select_option("#faq-language", "en")
    page.locator("#faq form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/results/[0-9a-f]+$"), timeout=30_000)
    assert page.locator(".faq-item").count() >= 3
    assert "What should I know about" in page.locator(".faq-item summary").first.inner_text()
    screenshot(page, "tools-faq-en")
    page.goto(f"/courses/{course.id}/tools")
    page.locator("#mind_map details.options > summary").click()
    page.select_option("#mind_map-language", "en")
    page.locator("#mind_map form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/results/[0-9a-f]+$"), timeout=30_000)
    centre = page.locator("svg.mind-map g.node-0 rect").bounding_box()
    assert centre["x"] < page.locator("svg.mind-map g.node-1 rect").first.bounding_box()["x"]
    assert not watch.errors, watch.errors


def test_the_starter_pack_offer_on_a_fresh_course(page: Any, live: Any, watch: Any) -> None:  # noqa: F811
    from tests.study.test_formats import STRUCTURED

    user = create_user(live.services.store, "dana@example.com", PASSWORD, "דנה")
    course, _ = add_course(live.services, user, STRUCTURED, name="מיקרו")
    _login(page, "dana@example.com")
    page.goto(f"/courses/{course.id}")
    page.locator("#make-starter").click()
    page.wait_for_url(re.compile(rf".*/courses/{course.id}$"))
    assert page.locator("#make-starter").count() == 0
    deadline = time.monotonic() + 30
    while len(live.services.store.artifacts.list_for_course(course.id)) < 2:
        assert time.monotonic() < deadline, "the starter summary and flashcards were not made"
        time.sleep(0.2)
    page.reload()
    assert page.locator("[data-role=work-list] a.work-title").count() == 2
    assert not watch.errors, watch.errors
