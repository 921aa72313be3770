"""The student's loop on a phone and on a desktop, in Hebrew and English: upload → study → review.

One live app for the module, its worker able to hold a tool's job (so a job can be seen waiting,
running and cancelled); one browser; each student logs in once and every context reuses the
cookie. Every page a test opens is checked with axe-core (no serious or critical finding) and
photographed under test-artifacts/screenshots/loop-*.png.
"""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from studybuddy.accounts import create_user
from studybuddy.courses import create_course
from studybuddy.store.models import Page, User
from studybuddy.worker.handlers import default_handlers
from tests.conftest import PASSWORD
from tests.study.conftest import add_course, wait_job
from tests.study.study_material import ENGLISH, HEBREW

from .a11y import install_axe, serious_violations
from .conftest import CHROMIUM, CHROMIUM_ARGS, CSP_WATCH, LiveApp, Watch, screenshot, serve_live

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
WAIT = 60_000
EMOJI = re.compile("[\U0001F300-\U0001FAFF\U00002600-\U000027BF]")


class Gate:
    """Holds the worker's summary jobs while `closed`, so a test sees them wait, run and stop."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.open.set()
        self.entered = threading.Event()

    def wrap(self, handler: Any) -> Any:
        def held(ctx: Any) -> Any:
            ctx.progress(10, "Reading the material")
            self.entered.set()
            self.open.wait(30)
            ctx.progress(30, "Writing")
            return handler(ctx)
        return held


@pytest.fixture(scope="module")
def gate() -> Gate:
    return Gate()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, gate: Gate) -> Iterator[LiveApp]:
    """The module's app: one worker slot, whose summary jobs wait at the gate while it is closed."""
    handlers = default_handlers()
    handlers["summary"] = gate.wrap(handlers["summary"])
    try:
        yield from serve_live(tmp_path_factory.mktemp("loop"), handlers=handlers, concurrency=1)
    finally:
        gate.open.set()


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield launched
    launched.close()


def _cookie(base: str, email: str) -> list[dict[str, Any]]:
    """Log in through the real form once; the session cookie for the browser contexts."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    opener.open(f"{base}/login", data=urllib.parse.urlencode(
        {"email": email, "password": PASSWORD, "csrf_token": token}).encode()).read()
    return [{"name": c.name, "value": c.value or "", "url": base} for c in jar]


@pytest.fixture(scope="module")
def students(live: LiveApp) -> dict[str, Any]:
    """A Hebrew-speaking and an English-speaking student, each with a course with material
    (a summary and a quiz made by the real tools), a course without material, and a login."""
    store = live.services.store
    made: dict[str, Any] = {}
    for lang, passages, name, file_name in (
            ("he", HEBREW, "ביולוגיה 101 - Biology", "התא - סיכום הרצאה 2.docx"),
            ("en", ENGLISH, "Biology 101 - ביולוגיה", "Cells - lecture notes 2.pdf")):
        user: User = create_user(store, f"{lang}-student@example.com", PASSWORD, "Dana דנה", language=lang)
        course, document = add_course(live.services, user, passages, name=name, document_name=file_name)
        store.pages.replace_for_document(document.id, [Page(document_id=document.id, number=i + 1, text=t)
                                                       for i, t in enumerate(passages)])
        document = store.documents.update(document.id, blob_id=store.blobs.put("\n".join(passages).encode()))
        empty = create_course(store, user.id, "קורס ריק - Empty")
        made[lang] = {"user": user, "course": course, "document": document, "empty": empty,
                      "cookies": _cookie(live.url, user.email)}
    return made


def _results(live: LiveApp, student: dict[str, Any]) -> dict[str, str]:
    """A summary and a quiz for the student, made through the app's own API (once per module)."""
    if "summary" not in student:
        from studybuddy.jobs import submit_job

        course = student["course"]
        for tool, params in (("summary", {"language": "he"}), ("quiz", {"count": 3, "kind": "mc", "language": "he"})):
            job = submit_job(live.services, tool, student["user"].id, course_id=course.id, params=params)
            done = wait_job(live.services, job.id, timeout=120)
            assert done.state == "succeeded", done.error_internal
            student[tool] = done.result_ref
    return {"summary": student["summary"], "quiz": student["quiz"]}


@pytest.fixture
def open_page(browser: Any, live: LiveApp, students: dict[str, Any]) -> Iterator[Any]:
    """open_page(lang, size) -> a page logged in as that language's student (or anonymous)."""
    contexts: list[tuple[Any, Watch]] = []

    def make(lang: str, size: str, signed_in: bool = True) -> Any:
        watch = Watch()
        context = browser.new_context(base_url=live.url, viewport=SIZES[size],
                                      locale="he-IL" if lang == "he" else "en-US")
        context.add_init_script(CSP_WATCH)
        install_axe(context)
        context.on("console", watch.on_console)
        if signed_in:
            context.add_cookies(students[lang]["cookies"])
        contexts.append((context, watch))
        return context.new_page()

    yield make
    for context, watch in contexts:
        context.close()
        assert not watch.csp, "Content Security Policy violations:\n" + "\n".join(watch.csp)


def check_page(page: Any, name: str) -> None:
    """No serious or critical axe finding, no sideways scrolling, no emoji; a screenshot."""
    found = serious_violations(page)
    assert not found, (name, found)
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], (name, "the page is wider than the screen", width)
    assert not EMOJI.search(page.inner_text("body")), (name, "emoji need a font many systems lack")
    screenshot(page, f"loop-{name}")


COMBOS = [(lang, size) for lang in ("he", "en") for size in ("phone", "desktop")]


@pytest.mark.parametrize(("lang", "size"), COMBOS)
def test_every_page_reads_right(open_page: Any, live: LiveApp, students: dict[str, Any], lang: str,
                                size: str) -> None:
    """Each page: axe, layout, the language's direction, mirrored arrows, localised dates, the menu."""
    student = students[lang]
    results = _results(live, student)
    course, document = student["course"], student["document"]
    page = open_page(lang, size)
    pages = {
        "library": "/library", "course": f"/courses/{course.id}", "empty-course": f"/courses/{student['empty'].id}",
        "tools": f"/courses/{course.id}/tools", "summary": f"/results/{results['summary']}",
        "quiz": f"/quizzes/{results['quiz']}", "history": f"/courses/{course.id}/history",
        "document": f"/documents/{document.id}/pages/1", "chat": f"/courses/{course.id}/chat",
        "glossary": f"/courses/{course.id}/glossary", "review": "/review", "settings": "/settings",
        "not-found": f"/courses/{'0' * 24}",
    }
    for name, url in pages.items():
        page.goto(url)
        assert page.get_attribute("html", "lang") == lang
        assert page.get_attribute("html", "dir") == ("rtl" if lang == "he" else "ltr")
        check_page(page, f"{name}-{lang}-{size}")
        # The menu: inline on a desktop; one button on a phone, with language and install inside.
        bar, menu = page.locator(".site-header .main-nav"), page.locator("details.phone-menu > summary")
        assert (bar.is_visible(), menu.is_visible()) == ((False, True) if size == "phone" else (True, False))
        current = page.locator(".main-nav [aria-current=page]")
        assert current.count() == (0 if name == "not-found" else 1), name
    # The chat scrolls with the page, not in a small box of its own.
    page.goto(f"/courses/{course.id}/chat")
    assert page.eval_on_selector("[data-role=messages]", "el => getComputedStyle(el).overflowY") == "visible"
    # Back arrows point back: mirrored in Hebrew.
    page.goto(f"/courses/{course.id}/tools")
    transform = page.eval_on_selector(".back-link svg", "el => getComputedStyle(el).transform")
    assert (transform == "matrix(-1, 0, 0, 1, 0, 0)") == (lang == "he"), transform
    # Dates in the student's language, ISO 8601 in the markup.
    page.goto(f"/courses/{course.id}/history")
    time_el = page.locator("time").first
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", str(time_el.get_attribute("datetime")))
    assert re.search("לפני|עכשיו" if lang == "he" else "ago|now", time_el.inner_text()), time_el.inner_text()
    # A manifest in the page's language.
    href = page.get_attribute("link[rel=manifest]", "href")
    manifest = page.request.get(str(href)).json()
    assert manifest["lang"] == lang and manifest["dir"] == ("rtl" if lang == "he" else "ltr")
    if size == "phone":
        page.goto("/library")
        page.click("details.phone-menu > summary")
        items = page.locator(".phone-menu-items")
        assert items.locator("[data-switch-language]").is_visible()
        assert items.locator("[data-install-app]").count() == 1
        box = items.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        screenshot(page, f"loop-menu-{lang}")


@pytest.mark.parametrize(("lang", "size"), [("he", "phone"), ("en", "desktop")])
def test_anonymous_and_offline_pages(open_page: Any, lang: str, size: str) -> None:
    page = open_page(lang, size, signed_in=False)
    page.request.post(f"/language/{lang}", form={"next": "/"})  # a visitor needs no token for this
    public = (("landing", "/"), ("login", "/login"), ("signup", "/signup"), ("offline", f"/offline?lang={lang}"))
    for name, url in public:
        page.goto(url)
        check_page(page, f"{name}-{lang}-{size}")
    # The offline page keeps the navigation it can: home, review, the other language.
    nav = page.locator(".phone-menu-items" if size == "phone" else ".site-header .main-nav")
    if size == "phone":
        page.click("details.phone-menu > summary")
    assert nav.locator("a[href='/review']").is_visible()
    assert nav.locator(".lang-switch").is_visible()


def test_upload_on_choose_and_drop_with_complete_rows(open_page: Any, students: dict[str, Any], live: LiveApp) -> None:
    page = open_page("he", "phone")
    course = students["he"]["empty"]
    page.goto(f"/courses/{course.id}")
    # No material: the tools wait for it, and say how to begin.
    assert page.locator("form[data-start-tool] button[formaction]").first.is_disabled()
    assert page.locator(".tools-need-material a[href='#documents']").is_visible()
    # The picker is ours, in Hebrew; the browser's own English button is not shown.
    assert page.locator("label.file-button").inner_text() == "בחירת קבצים"
    assert page.locator("#upload-files").bounding_box()["width"] <= 1  # type: ignore[index]
    assert not page.locator("[data-role=upload-submit]").is_visible()
    page.set_input_files("#upload-files", files=[{"name": "הרצאה 1 - notes.txt", "mimeType": "text/plain",
                                                  "buffer": "\n".join(HEBREW).encode()}])
    row = page.locator("li[data-document-id]", has_text="הרצאה 1 - notes.txt")
    row.wait_for(timeout=WAIT)
    assert row.locator("[data-role=kind]").inner_text() == "TXT"
    assert row.locator("button[formaction$='/delete']").count() == 1
    page.locator("li[data-document-id][data-status=ready]").first.wait_for(timeout=WAIT)
    assert row.locator("a[data-role=name]").get_attribute("href")
    assert row.locator("[data-role=pages]").count() == 1
    # Drag and drop a second file onto the zone.
    page.evaluate("""() => {
      const data = new DataTransfer();
      data.items.add(new File(["Photosynthesis turns light into chemical energy. Chlorophyll is green."],
                              "lecture 2.txt", {type: "text/plain"}));
      const zone = document.querySelector('[data-role="drop-zone"]');
      zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true, cancelable: true}));
      zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
    }""")
    page.locator("li[data-document-id]", has_text="lecture 2.txt").wait_for(timeout=WAIT)
    # With material, the tools are on.
    page.wait_for_timeout(200)
    page.reload()
    assert page.locator("form[data-start-tool] button[formaction]").first.is_enabled()
    check_page(page, "upload-he-phone")


def test_one_tap_follow_cancel_and_result_in_place(open_page: Any, students: dict[str, Any], live: LiveApp,
                                                   gate: Gate) -> None:
    page = open_page("en", "desktop")
    course = students["en"]["course"]
    page.goto(f"/courses/{course.id}")
    url = page.url
    gate.open.clear()
    gate.entered.clear()
    try:
        summary = page.locator("form[data-start-tool] button[formaction$='/tools/summary']")
        summary.click()
        first = page.locator("[data-role=work-list] li[data-job-state=running]").first
        first.wait_for(timeout=WAIT)
        first_id = first.get_attribute("data-job-id")
        assert gate.entered.wait(30)
        summary.click()  # a second one waits behind the first
        second = page.locator("[data-role=work-list] li[data-job-state=queued]").first
        second.wait_for(timeout=WAIT)
        page.wait_for_function("() => document.querySelector('[data-role=work-list] li[data-job-state=queued] "
                               "[data-role=ahead]').textContent.includes('1 ahead of you')", timeout=WAIT)
        assert "Reading the material" in first.locator("[data-role=stage]").inner_text()
        page.wait_for_function("() => /\\d+:\\d\\d so far/.test(document.querySelector("
                               "'[data-role=work-list] li[data-job-state=running] [data-role=elapsed]').textContent)")
        check_page(page, "work-following-en-desktop")
        # Cancel the waiting one: it never runs.
        second_id = second.get_attribute("data-job-id")
        second.locator("[data-role=cancel]").click()
        page.locator(f"li[data-job-id='{second_id}'][data-job-state=cancelled]").wait_for(timeout=WAIT)
    finally:
        gate.open.set()
    # The first finishes; its row becomes the result, in place, without leaving the page.
    page.locator(f"li[data-job-id='{first_id}'] a.work-title").wait_for(timeout=WAIT)
    assert page.url == url
    assert live.services.store.jobs.get(str(second_id)).state == "cancelled"  # type: ignore[union-attr]
    title = page.locator(f"li[data-job-id='{first_id}'] a.work-title").inner_text()
    assert title == "Medium summary · bullet points — Cells - lecture notes 2.pdf"


def test_a_running_job_cancelled_from_its_page(open_page: Any, students: dict[str, Any], live: LiveApp,
                                               gate: Gate) -> None:
    page = open_page("he", "phone")
    course = students["he"]["course"]
    gate.open.clear()
    gate.entered.clear()
    try:
        page.goto(f"/courses/{course.id}/tools")
        page.locator("section#summary form button[type=submit]").first.click()
        page.wait_for_url(re.compile(r"/jobs/"))
        assert gate.entered.wait(30)
        page.wait_for_function("() => document.querySelector('[data-role=stage]').textContent.length > 0")
        check_page(page, "job-he-phone")
        job_id = page.url.rsplit("/", 1)[-1]
        page.locator("[data-role=cancel]").click()
        page.locator("[data-job-state=cancelled]").wait_for(timeout=WAIT)
        assert page.locator("[data-role=state]").inner_text() == "בוטל"
    finally:
        gate.open.set()
    job = wait_job(live.services, job_id)
    assert job.state == "cancelled"
    page.wait_for_timeout(500)  # the worker stopped at its next step and kept nothing
    assert live.services.store.jobs.get(job_id).state == "cancelled"  # type: ignore[union-attr]
    assert not any(a.job_id == job_id for a in live.services.store.artifacts.list_for_course(course.id))


def test_the_result_appears_in_place_of_the_waiting_page(open_page: Any, students: dict[str, Any]) -> None:
    page = open_page("en", "phone")
    course = students["en"]["course"]
    page.goto(f"/courses/{course.id}/tools")
    page.locator("section#flashcards form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/results/"), timeout=WAIT)
    assert page.locator(".flashcard").count() >= 1
    check_page(page, "result-in-place-en-phone")


def test_manage_a_result(open_page: Any, students: dict[str, Any], live: LiveApp) -> None:
    page = open_page("he", "desktop")
    results = _results(live, students["he"])
    page.goto(f"/results/{results['summary']}")
    details = page.locator("details.provider-details")
    assert details.get_attribute("open") is None and not details.locator("p").is_visible()
    details.locator("summary").click()
    assert "local" in details.locator("p").inner_text()
    page.click("details.rename > summary")
    page.fill("#result-title", "סיכום לבחינה - chapter 2")
    page.click("details.rename button[type=submit]")
    page.wait_for_load_state()
    assert page.inner_text("h1") == "סיכום לבחינה - chapter 2"
    page.click("form[action$='/pin'] button")
    page.wait_for_load_state()
    assert page.get_attribute("form[action$='/pin'] button", "aria-pressed") == "true"
    page.goto(f"/courses/{students['he']['course'].id}")
    assert page.locator("[data-role=work-list] > li").first.locator("a.work-title").inner_text() == \
        "סיכום לבחינה - chapter 2"
    check_page(page, "pinned-he-desktop")
    page.goto(f"/results/{results['summary']}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form[action$='/delete'] button")
    page.wait_for_url(re.compile(r"/courses/"))
    assert page.locator("a.work-title", has_text="סיכום לבחינה").count() == 0
    del students["he"]["summary"]


def test_quiz_marks_and_retry_the_wrong_ones(open_page: Any, students: dict[str, Any], live: LiveApp) -> None:
    page = open_page("en", "phone")
    results = _results(live, students["en"])
    page.goto(f"/quizzes/{results['quiz']}")
    for i in range(page.locator("li.question").count()):
        page.locator("li.question").nth(i).locator("input[type=radio]").nth(i % 2).check()
    page.click("form.quiz button[type=submit]")
    page.wait_for_url(re.compile(r"/quiz-attempts/"), timeout=WAIT)
    marks = page.locator(".question-head .mark")
    assert marks.count() >= 1
    for i in range(marks.count()):
        assert marks.nth(i).inner_text().strip() in ("Right", "Wrong")  # in words, not colour alone
        assert marks.nth(i).locator("svg").count() == 1
    check_page(page, "quiz-marks-en-phone")
    retry = page.locator("a", has_text="Retry the ones I got wrong")
    if retry.count():
        wrong = page.locator(".mark-wrong").count()
        retry.click()
        assert page.locator("form.quiz li.question:not(.question-kept)").count() == wrong
        check_page(page, "quiz-retry-en-phone")


def test_citations_and_names_keep_their_order(open_page: Any, students: dict[str, Any], live: LiveApp) -> None:
    page = open_page("he", "desktop")
    results = _results(live, students["he"])
    page.goto(f"/results/{results['summary']}")
    cites = page.locator("bdi > a.cite")
    assert cites.count() >= 1
    assert cites.first.evaluate("el => getComputedStyle(el.parentElement).unicodeBidi") == "isolate"
    assert "עמ'" in str(cites.first.get_attribute("title"))
    # A mixed file name keeps its own order: ".docx" stays at its end, on screen too.
    page.goto(f"/courses/{students['he']['course'].id}")
    name = page.locator("[data-document-id] [data-role=name]").first
    assert name.get_attribute("dir") == "auto"
    boxes = name.evaluate("""el => {
      const range = document.createRange(), at = (node, s) => {
        const i = node.textContent.indexOf(s); range.setStart(node, i); range.setEnd(node, i + s.length);
        const r = range.getBoundingClientRect(); return [r.left, r.right]; };
      const stem = el.firstChild, ext = el.querySelector(".file-ext").firstChild;
      return {hebrew: at(stem, "התא"), two: at(stem, "2"), dot: at(ext, "."), docx: at(ext, "docx")}; }""")
    # Read right to left: "התא - סיכום הרצאה", then "2.docx" as written, at the left end.
    assert boxes["two"][1] <= boxes["dot"][0] + 1 and boxes["dot"][1] <= boxes["docx"][0] + 1, boxes
    assert boxes["docx"][1] < boxes["hebrew"][0], boxes
