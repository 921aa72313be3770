"""Review in a real browser, in Hebrew and English, on a phone and a desktop: ten due cards by
keyboard (desktop) or touch (phone), an edit during review, an undo, three cards offline scheduled
by the page itself, and the counts once the marks are back on the server."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsrs
import pytest

from studybuddy.accounts import create_user
from studybuddy.courses import create_course
from studybuddy.store.cards import Card, Deck
from studybuddy.store.models import new_id
from studybuddy.study.review import Mark, apply_mark, counts
from studybuddy.study.scheduling import LEARNING_STEPS, MAXIMUM_INTERVAL, RELEARNING_STEPS, Settings
from tests.conftest import PASSWORD

from .conftest import CHROMIUM, CHROMIUM_ARGS, CSP_WATCH, DESKTOP, PHONE, LiveApp, Watch, screenshot
from .test_pwa import log_in

DAY = 86400.0
TEXT = {"he": {"title": "חזרה", "saved": "הכרטיסייה נשמרה."}, "en": {"title": "Review", "saved": "The card was saved."}}


def student_with_due_cards(live: LiveApp, language: str) -> tuple[Any, Deck, list[Card]]:
    """15 cards learnt weeks ago and due now, and 5 new ones."""
    store = live.services.store
    user = create_user(store, f"rev-{uuid.uuid4().hex[:8]}@example.com", PASSWORD, "נועה", language=language)
    course = create_course(store, user.id, "ביולוגיה של התא" if language == "he" else "Cell biology")
    deck = store.decks.add(Deck(id=new_id(), owner_id=user.id, course_id=course.id,
                                name="פרק 2 — אברונים" if language == "he" else "Chapter 2 — organelles"))
    now = time.time()
    cards = [Card(id=new_id(), owner_id=user.id, course_id=course.id, deck_id=deck.id,
                  front=f"שאלה {i}: מה תפקיד האברון?" if language == "he" else f"Question {i}: what does it do?",
                  back=f"תשובה {i}" if language == "he" else f"Answer {i}", position=i, created_at=now - 60 * DAY + i,
                  source={"document_id": "", "document_name": "תא.pdf", "page": i + 1})
             for i in range(20)]
    store.cards.add_many(cards)
    for i, card in enumerate(cards[:15]):
        start = now - 40 * DAY + i * 60
        for offset, grade in ((0, 3), (600, 3)):
            apply_mark(store, user.id, Mark(str(uuid.uuid4()), card.id, grade, start + offset), Settings(),
                       now=start + offset)
    return user, deck, cards


@pytest.fixture
def browser_for(playwright: Any, live: LiveApp, tmp_path: Path) -> Iterator[Any]:
    """A fresh browser profile at the given size; phones get touch."""
    made: list[tuple[Any, Watch]] = []

    def make(size: str, language: str) -> tuple[Any, Any, Watch]:
        watch = Watch()
        phone = size == "phone"
        ctx = playwright.chromium.launch_persistent_context(
            str(tmp_path / f"profile-{size}-{language}"), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
            headless=True, base_url=live.url, viewport=PHONE if phone else DESKTOP, has_touch=phone,
            is_mobile=phone, locale="he-IL" if language == "he" else "en-US", service_workers="allow")
        ctx.add_init_script(CSP_WATCH)
        ctx.on("console", watch.on_console)
        made.append((ctx, watch))
        return ctx, ctx.pages[0] if ctx.pages else ctx.new_page(), watch

    yield make
    for ctx, watch in made:
        ctx.close()
        assert not watch.csp, "Content Security Policy violations:\n" + "\n".join(watch.csp)


def shown_counts(page: Any) -> tuple[int, int]:
    return (int(page.text_content('[data-role="due-count"]')), int(page.text_content('[data-role="new-count"]')))


def current_card(page: Any) -> str:
    return str(page.get_attribute('[data-role="card"]', "data-card-id"))


def wait_for_new_card(page: Any, before: str) -> None:
    page.wait_for_function(
        "(before) => { const c = document.querySelector('[data-role=card]');"
        " return c.hidden || c.getAttribute('data-card-id') !== before; }", arg=before)


def answer(page: Any, phone: bool, grade: str) -> str:
    """Show the answer and mark it: Space and 1-4 on a desktop, taps on a phone."""
    card = current_card(page)
    if phone:
        page.tap('[data-action="flip"]')
        page.wait_for_selector('[data-role="back"]', state="visible")
        page.tap(f'[data-action="mark"][data-grade="{grade}"]')
    else:
        page.keyboard.press("Space")
        page.wait_for_selector('[data-role="back"]', state="visible")
        # After "Show answer" the focus is on Good, so a second Space means Good (Anki's habit).
        assert page.evaluate("document.activeElement.getAttribute('data-grade')") == "good"
        page.keyboard.press({"again": "1", "hard": "2", "good": "Space", "easy": "4"}[grade])
    wait_for_new_card(page, card)
    return card


def server_reviews(live: LiveApp, user_id: str) -> int:
    return int(live.services.store.reviews.count_for_owner(user_id))


def wait_until(check: Any, timeout: float = 20.0) -> None:
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("language", ["he", "en"])
def test_review_ten_edit_undo_then_three_offline(browser_for: Any, live: LiveApp, size: str, language: str) -> None:
    phone = size == "phone"
    user, _deck, cards = student_with_due_cards(live, language)
    context, page, _watch = browser_for(size, language)
    log_in(page, user.email)
    page.goto("/review")
    page.wait_for_selector("[data-review][data-sync=done]")
    assert page.get_attribute("html", "dir") == ("rtl" if language == "he" else "ltr")
    assert shown_counts(page) == (15, 5)
    assert page.text_content('[data-role="total"]') == "20"
    if phone:
        # Big touch targets and no keyboard hints on a phone.
        assert page.is_hidden(".key-hints") and page.is_hidden(".key-hint")
        page.tap('[data-action="flip"]')
        heights = page.eval_on_selector_all('[data-action="mark"]',
                                            "bs => bs.map(b => b.getBoundingClientRect().height)")
        assert min(heights) >= 48, heights
        page.tap('[data-action="flip"]') if page.is_visible('[data-action="flip"]') else None
        page.reload()
        page.wait_for_selector("[data-review][data-sync=done]")
    else:
        assert page.is_visible(".key-hints")
        page.focus('[data-role="card"]')

    grades = ["good", "easy", "hard", "good", "good", "easy", "good", "hard", "good"]
    for grade in grades:
        answer(page, phone, grade)
    assert page.text_content('[data-role="position"]') == "10"
    screenshot(page, f"review-{language}-{size}")

    # Edit the tenth card during review.
    editing = current_card(page)
    page.tap('[data-action="edit"]') if phone else page.keyboard.press("e")
    page.wait_for_selector('[data-role="edit-form"]', state="visible")
    new_front = "מה תפקיד המיטוכונדריה?" if language == "he" else "What do mitochondria do?"
    page.fill("#edit-front", new_front)
    page.tap('[data-action="save-edit"]') if phone else page.click('[data-action="save-edit"]')
    page.wait_for_function("(t) => document.querySelector('[data-role=front]').textContent === t", arg=new_front)
    assert page.text_content('[data-role="note"]') == TEXT[language]["saved"]
    assert live.services.store.cards.get(editing).front == new_front
    screenshot(page, f"review-edit-{language}-{size}")

    # Mark it, then undo: the card comes back with its answer hidden and the server state restored.
    before_undo = live.services.store.cards.get(editing)
    if not phone:
        page.focus('[data-role="card"]')
    answer(page, phone, "easy")
    wait_until(lambda: live.services.store.cards.get(editing).reps == before_undo.reps + 1)
    page.tap('[data-action="undo"]') if phone else page.keyboard.press("u")
    page.wait_for_function("(id) => document.querySelector('[data-role=card]').getAttribute('data-card-id') === id",
                           arg=editing)
    assert page.is_hidden('[data-role="back"]')
    wait_until(lambda: live.services.store.cards.get(editing).reps == before_undo.reps)
    restored = live.services.store.cards.get(editing)
    assert (restored.stability, restored.difficulty, restored.due) == (
        before_undo.stability, before_undo.difficulty, before_undo.due)
    answer(page, phone, "good")
    wait_until(lambda: server_reviews(live, user.id) == 30 + 10)
    page.wait_for_selector('[data-role="pending"]', state="hidden")
    assert shown_counts(page) == (5, 5)

    # Offline: three more cards, scheduled by the page itself.
    context.set_offline(True)
    offline_cards = [answer(page, phone, g) for g in ("good", "hard", "easy")]
    page.wait_for_function("() => document.querySelector('[data-role=pending-count]').textContent === '3'")
    assert shown_counts(page) == (2, 5)
    assert page.text_content('[data-role="total-due"]') == "2"  # the page's totals follow
    local = page.evaluate("async (ids) => { const d = await StudyBuddy.review.getDeck();"
                          " return d.cards.filter(c => ids.includes(c.id)); }", offline_cards)
    assert all(c["reps"] == 3 and c["state"] == 2 and c["due"] > time.time() + DAY for c in local)
    assert server_reviews(live, user.id) == 40
    screenshot(page, f"review-offline-{language}-{size}")

    # Back online: the page sends the marks by itself; the server agrees with the page's schedule.
    context.set_offline(False)
    page.wait_for_selector('[data-role="pending"]', state="hidden", timeout=20000)
    page.wait_for_selector("[data-review][data-sync=done]")
    assert server_reviews(live, user.id) == 43
    for card in local:
        stored = live.services.store.cards.get(card["id"])
        assert stored.reps == 3 and stored.state == card["state"]
        assert stored.stability == pytest.approx(card["stability"], rel=1e-9)
        assert stored.difficulty == pytest.approx(card["difficulty"], rel=1e-9)
        assert stored.due == pytest.approx(card["due"], abs=0.01)
    server_counts = counts(live.services.store, user.id, Settings(), live.config.app.timezone)
    assert shown_counts(page) == server_counts == (2, 5)
    page.reload()
    page.wait_for_selector("[data-review][data-sync=done]")
    assert shown_counts(page) == (2, 5)
    assert page.text_content('[data-role="total-due"]') == "2"


def test_the_pages_fsrs_port_agrees_with_py_fsrs(browser_for: Any, live: LiveApp) -> None:
    """Every grade in every state over a scripted history: stability, difficulty and due time from
    static/js/fsrs.js are those of py-fsrs (the server), to floating-point rounding."""
    _ctx, page, _watch = browser_for("desktop", "he")
    page.goto("/login")
    page.wait_for_function("() => window.StudyBuddy && window.StudyBuddy.fsrs")
    settings = Settings(desired_retention=0.85)
    scheduler = fsrs.Scheduler(desired_retention=0.85, enable_fuzzing=False, maximum_interval=MAXIMUM_INTERVAL,
                               learning_steps=[dt.timedelta(seconds=s) for s in LEARNING_STEPS],
                               relearning_steps=[dt.timedelta(seconds=s) for s in RELEARNING_STEPS])
    start = 1_767_600_000.123
    script = [(0, 1), (61, 2), (400, 3), (1100, 3), (3 * DAY, 1), (3 * DAY + 700, 2), (3 * DAY + 1400, 3),
              (9 * DAY, 4), (30 * DAY, 2), (31 * DAY, 1), (31 * DAY + 650, 4), (80 * DAY, 3), (200 * DAY, 3)]
    card = fsrs.Card(card_id=1, due=dt.datetime.fromtimestamp(start, dt.timezone.utc))
    expected = []
    for offset, grade in script:
        when = dt.datetime.fromtimestamp(start + offset, dt.timezone.utc)
        card, _ = scheduler.review_card(card, fsrs.Rating(grade), when)
        expected.append((int(card.state), card.step, card.stability, card.difficulty, card.due.timestamp()))
    got = page.evaluate("""([cfg, start, script]) => {
        const s = new StudyBuddy.fsrs.Scheduler(cfg);
        let m = {reps: 0};
        return script.map(([offset, grade]) => { m = s.review(m, grade, start + offset);
            return [m.state, m.step, m.stability, m.difficulty, m.due]; }); }""",
                        [settings.for_device(), start, script])
    assert len(got) == len(expected)
    for (state, step, stability, difficulty, due), mine in zip(expected, got):
        assert (state, step) == (mine[0], mine[1])
        assert mine[2] == pytest.approx(stability, rel=1e-12) and mine[3] == pytest.approx(difficulty, rel=1e-12)
        assert mine[4] == pytest.approx(due, abs=1e-3)
    # Python's round() sends halves to the even neighbour; so does the port.
    assert page.evaluate("[0.5, 1.5, 2.5, 3.5].map(StudyBuddy.fsrs.roundHalfEven)") == [0, 2, 2, 4]
