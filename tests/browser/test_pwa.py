"""The installable app in a real browser: manifest, service worker, offline review, logout."""

from __future__ import annotations

import io
import uuid
from typing import Any

from PIL import Image

from studybuddy.accounts import create_user
from studybuddy.courses import create_course
from studybuddy.store import new_id
from studybuddy.store.models import Artifact
from tests.conftest import PASSWORD

from .conftest import LiveApp, screenshot

CARDS = [
    {"front": "מהי פוטוסינתזה?", "back": "התהליך שבו צמחים הופכים אנרגיית אור לאנרגיה כימית.", "source": 1},
    {"front": "איפה מתרחש מעגל קלווין?", "back": "בסטרומה של הכלורופלסט.", "source": 1},
    {"front": "What does chlorophyll absorb?", "back": "Red and blue light.", "source": 2},
]


def student_with_cards(live: LiveApp) -> tuple[Any, Any, Artifact]:
    store = live.services.store
    user = create_user(store, f"pwa-{uuid.uuid4().hex[:8]}@example.com", PASSWORD, "נועה", language="he")
    course = create_course(store, user.id, "ביולוגיה של הצמח")
    artifact = store.artifacts.add(Artifact(
        id=new_id(), owner_id=user.id, course_id=course.id, kind="flashcards", title="כרטיסיות — פוטוסינתזה",
        content={"cards": CARDS, "sources": [
            {"number": 1, "document_id": "", "document_name": "פוטוסינתזה.pdf", "page": 3},
            {"number": 2, "document_id": "", "document_name": "פוטוסינתזה.pdf", "page": 4}]},
    ))
    return user, course, artifact


def log_in(page: Any, email: str) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/library")


def wait_controlled(page: Any, timeout: float = 20000) -> None:
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null",
                           timeout=timeout)


def wait_controlled_after_logout(page: Any) -> None:
    """Clear-Site-Data removes the worker asynchronously; a registration made while it is still
    at work can be swept away with it, and the next page load registers the worker again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(3):
        try:
            wait_controlled(page, timeout=7000)
            return
        except PlaywrightTimeout:
            page.reload()
    wait_controlled(page)


def marks_of(live: LiveApp, user_id: str) -> list[Any]:
    return live.services.store.reviews.list_for_owner(user_id)


def test_manifest_is_valid_and_linked(page: Any, live: LiveApp) -> None:
    page.goto("/")
    href = page.get_attribute('link[rel="manifest"]', "href")
    assert href == "/manifest.webmanifest"
    response = page.request.get(href)
    assert response.ok
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["lang"] == "he" and manifest["dir"] == "rtl"
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert "StudyBuddy" in manifest["name"] and any("\u0590" <= ch <= "\u05ff" for ch in manifest["name"])
    theme = page.get_attribute('meta[name="theme-color"]', "content")
    assert manifest["theme_color"] == theme
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    r, g, b = (int(manifest["background_color"][i:i + 2], 16) for i in (1, 3, 5))
    assert background == f"rgb({r}, {g}, {b})"
    sizes = {}
    for icon in manifest["icons"]:
        got = page.request.get(icon["src"])
        assert got.ok and got.headers["content-type"] == "image/png", icon
        image = Image.open(io.BytesIO(got.body()))
        assert f"{image.width}x{image.height}" == icon["sizes"]
        sizes[(icon["sizes"], icon["purpose"])] = True
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= set(sizes)
    shortcut_urls = {s["url"] for s in manifest["shortcuts"]}
    assert "/library" in shortcut_urls and "/go/chat" in shortcut_urls


def test_service_worker_controls_and_app_is_installable(page: Any, context: Any, live: LiveApp) -> None:
    page.goto("/")
    wait_controlled(page)
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == live.url + "/"
    cdp = context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")
    assert errors["installabilityErrors"] == [], errors
    # Chromium offers the install: the menu shows "Install the app".
    page.reload()
    page.wait_for_selector(".main-nav [data-install-app]", state="visible", timeout=20000)
    manifest = cdp.send("Page.getAppManifest")
    assert not manifest.get("errors"), manifest["errors"]
    # The shell cache holds public files only.
    cached = page.evaluate("""async () => {
        const out = [];
        for (const name of await caches.keys()) {
            for (const req of await (await caches.open(name)).keys()) {
                const url = new URL(req.url);
                out.push(url.pathname + url.search);
            }
        }
        return out; }""")
    assert "/offline?lang=he" in cached and "/offline?lang=en" in cached
    assert all(u.startswith(("/static/", "/offline?lang=")) or u == "/__prefs/lang" for u in cached), cached


def test_offline_review_marks_reach_server_once_and_logout_leaves_nothing(
        page: Any, context: Any, live: LiveApp) -> None:
    user, _course, _artifact = student_with_cards(live)
    log_in(page, user.email)
    wait_controlled(page)
    page.goto("/review")
    page.wait_for_selector("[data-review][data-sync=done]")
    assert page.text_content('[data-role="deck-size"]') == "3"
    screenshot(page, "review-he-desktop")

    # Offline: any page falls back to the offline page, which still has the cards.
    context.set_offline(True)
    page.goto("/library")
    page.wait_for_selector("h1[data-offline-page]")
    assert "ביולוגיה של הצמח" not in page.content().split("data-review")[0]
    page.wait_for_function("() => document.querySelector('[data-role=deck-size]').textContent === '3'")
    screenshot(page, "offline-he-desktop")
    page.click('[data-action="flip"]')
    back = page.text_content('[data-role="back"]')
    assert back in {c["back"] for c in CARDS}
    page.click('[data-action="mark"][data-grade="good"]')
    page.click('[data-action="flip"]')
    page.click('[data-action="mark"][data-grade="again"]')
    # The keyboard works too: Space shows the answer, 3 = "Good".
    page.focus('[data-role="card"]')
    page.keyboard.press("Space")
    assert page.is_visible('[data-role="back"]')
    page.keyboard.press("3")
    page.wait_for_function("() => document.querySelector('[data-role=pending-count]').textContent === '3'")
    pending = page.evaluate("StudyBuddy.review.pendingMarks()")
    assert len(pending) == 3 and not marks_of(live, user.id)

    # Back online: the offline page sends the queue by itself.
    context.set_offline(False)
    page.wait_for_selector('[data-role="pending"]', state="hidden", timeout=20000)
    stored = marks_of(live, user.id)
    assert sorted(m.mark_id for m in stored) == sorted(m["id"] for m in pending)
    assert sorted(m.grade for m in stored) == [1, 3, 3]

    # The same queue sent again (a retry after a lost answer) changes nothing.
    answer = page.evaluate("""async (marks) => {
        const deck = await (await fetch('/review/deck.json', {headers: {Accept: 'application/json'}})).json();
        const r = await fetch('/review/marks', {method: 'POST', headers: {'Content-Type': 'application/json',
            'X-CSRF-Token': deck.csrf_token}, body: JSON.stringify({marks})});
        return await r.json(); }""", pending)
    assert answer["accepted"] == [] and sorted(answer["duplicate"]) == sorted(m["id"] for m in pending)
    assert len(marks_of(live, user.id)) == 3

    # Log out: nothing private stays on the device, and no private page comes from a cache.
    page.goto("/library")
    page.click("form[data-logout] button")
    page.wait_for_url(live.url + "/")
    leftovers = page.evaluate("""async () => {
        const out = [];
        for (const name of await caches.keys()) {
            for (const req of await (await caches.open(name)).keys()) out.push(new URL(req.url).pathname);
        }
        const dbs = indexedDB.databases ? (await indexedDB.databases()).map(d => d.name) : [];
        return {cached: out, dbs}; }""")
    assert all(u.startswith("/static/") or u in ("/offline", "/__prefs/lang") for u in leftovers["cached"]), leftovers
    assert "studybuddy" not in leftovers["dbs"]
    page.goto("/library")
    page.wait_for_url(lambda url: "/login?next=" in url)
    assert page.locator("#password").count() == 1
    # Logging out removed the worker with everything else; the login page installs it afresh.
    wait_controlled_after_logout(page)
    context.set_offline(True)
    page.goto("/library")
    page.wait_for_selector("h1[data-offline-page]")
    assert "ביולוגיה של הצמח" not in page.content()
    # The page renders "0" itself; data-due is written only by the script once it has read the
    # device's deck, so waiting for it proves the script looked and found nothing.
    page.wait_for_selector("[data-review][data-due]", state="attached")
    assert page.text_content('[data-role="deck-size"]') == "0"
    assert page.get_attribute("[data-review]", "data-due") == "0"
    context.set_offline(False)


def test_a_waiting_new_version_is_offered_and_applied(page: Any, live: LiveApp) -> None:
    page.goto("/login")
    wait_controlled(page)
    old_caches = page.evaluate("caches.keys()")
    assert page.is_hidden("#sw-update")
    previous = live.app.extensions.get("studybuddy.shell_version")
    live.app.extensions["studybuddy.shell_version"] = "feedfacefeedface"
    try:
        page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
        page.wait_for_selector("#sw-update", state="visible", timeout=20000)
        screenshot(page, "update-banner-he-desktop")
        with page.expect_navigation():
            page.click('[data-action="sw-update"]')
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        caches = page.evaluate("caches.keys()")
        assert "studybuddy-shell-feedfacefeedface" in caches
        assert not [c for c in old_caches if c.startswith("studybuddy-shell-") and c in caches]
        assert page.is_hidden("#sw-update")
    finally:
        live.app.extensions["studybuddy.shell_version"] = previous


def test_offline_page_follows_the_students_language(page: Any, context: Any, live: LiveApp) -> None:
    user, _course, _artifact = student_with_cards(live)
    log_in(page, user.email)
    wait_controlled(page)
    page.click("[data-switch-language=en]")
    page.wait_for_url("**/library")
    assert page.get_attribute("html", "lang") == "en"
    # The page tells the worker its language; the worker keeps it for the offline page.
    page.wait_for_function("async () => { const r = await caches.match('/__prefs/lang');"
                           " return !!r && (await r.text()) === 'en'; }")
    context.set_offline(True)
    try:
        page.goto("/review")
        page.wait_for_selector("h1[data-offline-page]")
        assert page.get_attribute("html", "lang") == "en" and page.text_content("h1") == "You are offline"
        screenshot(page, "offline-review-en-desktop")
    finally:
        context.set_offline(False)


def test_the_csp_blocks_inline_script_and_the_watch_reports_it(page: Any, watch: Any) -> None:
    page.goto("/")
    page.evaluate("""() => {
        const s = document.createElement("script");
        s.textContent = "window.injected = true";
        document.body.appendChild(s);
        const b = document.createElement("div");
        b.setAttribute("onclick", "window.injected = true");
        document.body.appendChild(b);
        b.click();
    }""")
    for _ in range(100):  # console messages arrive asynchronously
        if watch.csp:
            break
        page.wait_for_timeout(50)
    assert page.evaluate("() => window.injected === undefined")
    assert watch.csp, "the browser did not report the blocked inline script"
    watch.csp.clear()  # expected here; any other violation fails the test that sees it
