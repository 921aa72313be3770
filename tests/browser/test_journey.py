"""A student's whole journey in a real browser, then screenshots of every main page.

sign up → create a course → upload a Hebrew PDF → it becomes ready → summary, flashcards and a
quiz → take the quiz → chat with Avner and follow a citation → switch to English and back.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from tests.conftest import PASSWORD
from tests.ingest.makers import visual_hebrew_pdf
from tests.study.study_material import HEBREW

from .conftest import DESKTOP, PHONE, LiveApp, screenshot

JOB_TIMEOUT = 90_000


def hebrew_pdf() -> bytes:
    pages = [textwrap.wrap(passage, 70) for passage in HEBREW]
    return visual_hebrew_pdf(pages)


def html_lang(page: Any) -> str:
    return str(page.get_attribute("html", "lang"))


def run_tool(page: Any, course_id: str, tool: str) -> str:
    """Submit a tool's form on the tools page and wait for its result page; returns its URL."""
    page.goto(f"/courses/{course_id}/tools#{tool}")
    page.locator(f"section#{tool} form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/(results|quizzes)/"), timeout=JOB_TIMEOUT)
    return str(page.url)


def test_student_journey_and_screenshots(page: Any, context: Any, live: LiveApp) -> None:
    pages: dict[str, str] = {"landing": "/", "login": "/login", "signup": "/signup"}

    # Sign up.
    page.goto("/")
    assert html_lang(page) == "he" and page.get_attribute("html", "dir") == "rtl"
    page.click("a.button[href='/signup']")
    page.fill("#display_name", "נועה")
    page.fill("#email", "noa@example.com")
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.click("form.card button[type=submit]")
    # Signing up answers alike for new and taken addresses, so it leads to the log-in page.
    page.wait_for_url("**/login**")
    assert page.input_value("#email") == "noa@example.com"
    page.fill("#password", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/library")
    pages["library"] = "/library"

    # Create a course.
    page.fill("#course-name", "ביולוגיה של הצמח")
    page.click("form.inline-form button[type=submit]")
    page.wait_for_url(re.compile(r"/courses/[^/]+$"))
    course_id = page.url.rsplit("/", 1)[1]
    pages["course"] = f"/courses/{course_id}"
    assert page.text_content("h1") == "ביולוגיה של הצמח"

    # Upload a Hebrew PDF and watch it become ready without reloading.
    # Choosing the file uploads it (no second step).
    page.set_input_files("#upload-files", files=[{"name": "פוטוסינתזה.pdf", "mimeType": "application/pdf",
                                                  "buffer": hebrew_pdf()}])
    ready = page.locator("[data-document-id][data-status=ready]")
    ready.wait_for(timeout=JOB_TIMEOUT)
    assert "פוטוסינתזה.pdf" in ready.text_content()
    document_page = ready.locator("a[data-role=name]").get_attribute("href")
    pages["document"] = str(document_page)

    # Summary, flashcards and a quiz.
    pages["tools"] = f"/courses/{course_id}/tools"
    pages["summary"] = run_tool(page, course_id, "summary").removeprefix(live.url)
    assert page.locator(".prose").count() >= 1
    pages["flashcards"] = run_tool(page, course_id, "flashcards").removeprefix(live.url)
    assert page.locator(".flashcard").count() >= 1
    quiz_url = run_tool(page, course_id, "quiz")
    pages["quiz"] = quiz_url.removeprefix(live.url)

    # Take the quiz: the first option of each question.
    questions = page.locator("li.question")
    assert questions.count() >= 1
    for i in range(questions.count()):
        question = questions.nth(i)
        if question.locator("input[type=radio]").count():
            question.locator("input[type=radio]").first.check()
        else:
            question.locator("textarea").fill("פוטוסינתזה הופכת אור לאנרגיה כימית")
    page.click("form.quiz button[type=submit]")
    page.wait_for_url(re.compile(r"/quiz-attempts/"), timeout=JOB_TIMEOUT)
    page.locator(".score").wait_for(timeout=JOB_TIMEOUT)
    pages["quiz-results"] = page.url.removeprefix(live.url)

    # Chat with Avner and follow a citation to the page it cites.
    page.goto(f"/courses/{course_id}/chat")
    page.fill("#chat-question", "מהי פוטוסינתזה?")
    page.click("form.chat-form button[type=submit]")
    cite = page.locator(".message-assistant a.cite").first
    cite.wait_for(timeout=JOB_TIMEOUT)
    pages["chat"] = page.url.removeprefix(live.url)
    href = str(cite.get_attribute("href"))
    cite.click()
    page.wait_for_url(re.compile(re.escape(href.split("#")[0])))
    assert re.search(r"/documents/[^/]+/", href), href
    cited = page.request.get(href)
    assert cited.ok
    if cited.headers["content-type"].startswith("application/pdf"):
        assert re.search(r"#page=\d+$", href), href  # the original, opened at the cited page
    else:
        assert "פוטוסינתזה" in cited.text() or "כלורופיל" in cited.text()

    # Switch to English and back; the choice is remembered across pages.
    page.goto("/library")
    page.click("[data-switch-language=en]")
    page.wait_for_url("**/library")
    assert html_lang(page) == "en" and page.get_attribute("html", "dir") == "ltr"
    assert page.text_content("h1") == "My courses"
    page.goto(f"/courses/{course_id}")
    assert html_lang(page) == "en"
    page.click("[data-switch-language=he]")
    assert html_lang(page) == "he" and page.text_content("h1") == "ביולוגיה של הצמח"

    pages["review"] = "/review"
    pages["settings"] = "/settings"
    pages["glossary"] = f"/courses/{course_id}/glossary"
    take_screenshots(page, context, pages)


A11Y_CHECK = """() => {
  const out = [];
  const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (["hidden", "submit", "button"].includes(el.type) || !visible(el)) continue;
    if (!el.labels.length && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby"))
      out.push("no label: " + el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll("img")) {
    if (!el.hasAttribute("alt")) out.push("no alt: " + el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll("button, a[href]")) {
    const named = el.textContent.trim() || el.getAttribute("aria-label") || el.querySelector("img[alt]:not([alt=''])");
    if (visible(el) && !named)
      out.push("no name: " + el.outerHTML.slice(0, 120));
  }
  if (!document.documentElement.lang) out.push("no lang on <html>");
  if (document.querySelectorAll("h1").length !== 1) out.push("h1 count " + document.querySelectorAll("h1").length);
  return out;
}"""


def check_accessibility(page: Any, name: str) -> None:
    """Labels, alternative text, names, one heading; and the first Tab goes to "skip to content"."""
    problems = page.evaluate(A11Y_CHECK)
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], (name, "the page is wider than the screen", width)
    assert not problems, (name, problems)
    if page.evaluate("() => document.activeElement === document.body"):  # no field took the focus on load
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.className") == "skip-link", name


def take_screenshots(page: Any, context: Any, pages: dict[str, str]) -> None:
    """Every main page in Hebrew and English, at phone and desktop sizes."""
    public = {"landing", "login", "signup"}
    for lang in ("he", "en"):
        page.goto("/settings")
        if html_lang(page) != lang:
            page.click(f"[data-switch-language={lang}]")
            page.wait_for_load_state()
        for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            for name, url in pages.items():
                if name in public:
                    continue
                page.goto(url)
                assert html_lang(page) == lang, (name, url)
                screenshot(page, f"{name}-{lang}-{size_name}")
                check_accessibility(page, name)
    # Signed-out pages, in a context without the student's session.
    page.set_viewport_size(DESKTOP)
    page.goto("/library")
    page.click("form[data-logout] button")
    page.wait_for_url("**/")
    for lang in ("he", "en"):
        page.goto("/")
        if html_lang(page) != lang:
            page.click(f"[data-switch-language={lang}]")
            page.wait_for_load_state()
        for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            for name in sorted(public):
                page.goto(pages[name])
                assert html_lang(page) == lang
                screenshot(page, f"{name}-{lang}-{size_name}")
                check_accessibility(page, name)
            page.goto(f"/offline?lang={lang}")
            screenshot(page, f"offline-{lang}-{size_name}")
