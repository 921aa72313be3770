"""FSRS on the server: the same states and due times as py-fsrs itself, marks applied once in
device-time order whatever order they arrive in, and undo back to exactly the state before."""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from typing import Any

import fsrs
import pytest

from studybuddy.store.cards import NEW
from studybuddy.store.base import StoreError
from studybuddy.study.review import SETTLE_ATTEMPTS, Mark, ReviewError, apply_mark, settle, undo_mark
from studybuddy.study.scheduling import (
    LEARNING_STEPS,
    MAXIMUM_INTERVAL,
    RELEARNING_STEPS,
    Settings,
    memory_of,
    replay,
    step,
)

from .conftest import World

DAY = 86400.0
START = 1_767_600_000.0  # a Monday morning in January 2026


def bare_scheduler(retention: float = 0.9) -> fsrs.Scheduler:
    """py-fsrs called directly, with the settings the app documents (fuzzing off)."""
    return fsrs.Scheduler(desired_retention=retention,
                          learning_steps=[dt.timedelta(seconds=s) for s in LEARNING_STEPS],
                          relearning_steps=[dt.timedelta(seconds=s) for s in RELEARNING_STEPS],
                          maximum_interval=MAXIMUM_INTERVAL, enable_fuzzing=False)


def at(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


def mark(card_id: str, grade: int, when: float) -> Mark:
    return Mark(mark_id=str(uuid.uuid4()), card_id=card_id, grade=grade, reviewed_at=when)


def assert_same_as_fsrs(stored: Any, expected: fsrs.Card) -> None:
    assert stored.state == int(expected.state)
    assert stored.step == expected.step
    assert stored.stability == expected.stability
    assert stored.difficulty == expected.difficulty
    assert stored.due == expected.due.timestamp()
    assert stored.last_review == expected.last_review.timestamp()


def test_a_scripted_sixty_day_history_matches_py_fsrs(world: World) -> None:
    """30 cards studied every morning for 60 days, learning steps included, with grades from a
    fixed script; after every mark the stored card equals py-fsrs's card, field for field."""
    settings, bare = Settings(), bare_scheduler()
    cards = world.cards(30)
    reference = {c.id: fsrs.Card(card_id=i + 1, due=at(START)) for i, c in enumerate(cards)}
    script = random.Random(20261130)
    marks, seen = 0, set()
    for day in range(60):
        clock = START + day * DAY + 9 * 3600
        session_end = clock + 2 * 3600
        while True:
            due = sorted((ref.due.timestamp(), card_id) for card_id, ref in reference.items()
                         if ref.due.timestamp() <= session_end)
            if not due:
                break
            clock = max(clock + 7.25, due[0][0])
            if clock > session_end:
                break
            card_id = due[0][1]
            grade = script.choices([1, 2, 3, 4], weights=[15, 15, 60, 10])[0]
            seen.add((int(reference[card_id].state), grade))
            reference[card_id], _ = bare.review_card(reference[card_id], fsrs.Rating(grade), at(clock))
            applied, stored = apply_mark(world.store, world.alice.id, mark(card_id, grade, clock), settings,
                                         now=clock)
            assert applied
            assert_same_as_fsrs(stored, reference[card_id])
            marks += 1
    # The script really exercised the scheduler: every grade in learning, review and relearning.
    assert marks > 250 and {(s, g) for s in (1, 2, 3) for g in (1, 2, 3, 4)} <= seen, (marks, seen)
    for card in cards:
        stored = world.store.cards.get(card.id)
        assert_same_as_fsrs(stored, reference[card.id])
        # Replaying the card's log reproduces the stored state exactly.
        assert replay(world.store.reviews.for_card(card.id), settings.scheduler()) == memory_of(stored)


def test_late_and_out_of_order_marks_are_applied_in_device_time_order_once(world: World) -> None:
    settings, bare = Settings(), bare_scheduler()
    (card,) = world.cards(1)
    history = [(START + t, g) for t, g in ((0, 3), (600, 3), (3 * DAY, 1), (3 * DAY + 600, 3), (9 * DAY, 4),
                                           (30 * DAY, 2))]
    expected = fsrs.Card(card_id=1, due=at(START))
    for when, grade in history:
        expected, _ = bare.review_card(expected, fsrs.Rating(grade), at(when))
    marks = [mark(card.id, grade, when) for when, grade in history]
    # The device was offline for a month: its marks reach the server late, out of order, twice.
    arrival = [marks[4], marks[1], marks[5], marks[0], marks[3], marks[2]]
    now = START + 40 * DAY
    for m in arrival:
        applied, _ = apply_mark(world.store, world.alice.id, m, settings, now=now)
        assert applied
    stored = world.store.cards.get(card.id)
    assert_same_as_fsrs(stored, expected)
    assert stored.reps == 6 and stored.lapses == 1
    for m in reversed(marks):
        applied, _ = apply_mark(world.store, world.alice.id, m, settings, now=now + 60)
        assert not applied
    assert world.store.cards.get(card.id) == stored
    assert len(world.store.reviews.for_card(card.id)) == 6


def test_undo_restores_the_previous_state_exactly(world: World) -> None:
    settings = Settings()
    (card,) = world.cards(1)
    for offset, grade in ((0, 3), (600, 3), (4 * DAY, 3)):
        apply_mark(world.store, world.alice.id, mark(card.id, grade, START + offset), settings, now=START + offset)
    before = world.store.cards.get(card.id)
    last = mark(card.id, 1, START + 12 * DAY)
    _, after = apply_mark(world.store, world.alice.id, last, settings, now=START + 12 * DAY)
    assert after.lapses == 1 and memory_of(after) != memory_of(before)
    restored = undo_mark(world.store, world.alice.id, last.mark_id, settings)
    assert memory_of(restored) == memory_of(before)
    # The undone mark sent again (a retry from the device) does not come back.
    applied, _ = apply_mark(world.store, world.alice.id, last, settings, now=START + 12 * DAY)
    assert not applied and memory_of(world.store.cards.get(card.id)) == memory_of(before)
    # Undoing every mark leaves a new card.
    for review in world.store.reviews.for_card(card.id):
        undo_mark(world.store, world.alice.id, review.mark_id, settings)
    fresh = world.store.cards.get(card.id)
    assert fresh.state == NEW and fresh.reps == 0 and fresh.stability is None


def test_marks_on_someone_elses_card_are_refused(world: World) -> None:
    (card,) = world.cards(1)
    with pytest.raises(ReviewError):
        apply_mark(world.store, world.bob.id, mark(card.id, 3, START), Settings())
    with pytest.raises(ReviewError):
        apply_mark(world.store, world.alice.id, mark("no-such-card", 3, START), Settings())
    assert world.store.reviews.for_card(card.id) == []
    m = mark(card.id, 3, START)
    apply_mark(world.store, world.alice.id, m, Settings())
    with pytest.raises(ReviewError):
        undo_mark(world.store, world.bob.id, m.mark_id, Settings())
    assert world.store.cards.get(card.id).reps == 1


def test_marks_from_the_future_count_as_made_now(world: World) -> None:
    (card,) = world.cards(1)
    _, stored = apply_mark(world.store, world.alice.id, mark(card.id, 3, START + 5 * DAY), Settings(), now=START)
    assert stored.last_review == START
    # To the millisecond, as the device's own times are kept.
    (other,) = world.cards(1)
    now = START + 0.123456
    _, stored = apply_mark(world.store, world.alice.id, mark(other.id, 3, START + DAY), Settings(), now=now)
    assert stored.last_review == round(now, 3)


def test_the_log_keeps_when_a_mark_arrived_and_the_time_spent_on_it(world: World) -> None:
    (card,) = world.cards(1)
    sent = Mark(mark_id=str(uuid.uuid4()), card_id=card.id, grade=3, reviewed_at=START, duration_ms=4200)
    apply_mark(world.store, world.alice.id, sent, Settings(), now=START + 3 * DAY)
    (review,) = world.store.reviews.for_card(card.id)
    assert (review.mark_id, review.grade, review.reviewed_at) == (sent.mark_id, 3, START)
    assert (review.received_at, review.duration_ms) == (START + 3 * DAY, 4200)


def test_two_marks_made_in_the_same_instant_keep_the_logs_order(world: World) -> None:
    """The log orders marks of one instant by their ids; a mark arriving second with the smaller
    id goes first, so the card is the replay, not the second mark stepped on top of the first."""
    settings = Settings()
    (card,) = world.cards(1)
    later_id = Mark(mark_id="mark-bbbbbbbb", card_id=card.id, grade=1, reviewed_at=START)
    earlier_id = Mark(mark_id="mark-aaaaaaaa", card_id=card.id, grade=4, reviewed_at=START)
    apply_mark(world.store, world.alice.id, later_id, settings, now=START + 60)
    _, stored = apply_mark(world.store, world.alice.id, earlier_id, settings, now=START + 60)
    scheduler = settings.scheduler()
    expected = replay(world.store.reviews.for_card(card.id), scheduler)
    assert memory_of(stored) == expected
    # (and the two orders do give different cards)
    stepped_on_top = replay([r for r in world.store.reviews.for_card(card.id) if r.mark_id == later_id.mark_id],
                            scheduler)
    assert memory_of(stored) != step(stepped_on_top, 4, START, scheduler)


def test_an_unknown_mark_cannot_be_undone(world: World) -> None:
    (card,) = world.cards(1)
    apply_mark(world.store, world.alice.id, mark(card.id, 3, START), Settings(), now=START)
    for mark_id in ("no-such-mark-id", "../../x", "", None):
        with pytest.raises(ReviewError) as refused:
            undo_mark(world.store, world.alice.id, mark_id, Settings())  # type: ignore[arg-type]
        assert str(refused.value) == "There is no such review mark to undo."
    assert world.store.cards.get(card.id).reps == 1


def test_settle_gives_up_on_a_card_that_never_stops_changing(world: World, monkeypatch: Any) -> None:
    """Every compare-and-set lost (another writer each time): after SETTLE_ATTEMPTS tries the error
    names the card, and nothing was written."""
    (card,) = world.cards(1)
    tries: list[str] = []

    def always_stale(card_id: str, version: int, **fields: Any) -> bool:
        tries.append(card_id)
        return False

    monkeypatch.setattr(world.store.cards, "set_memory", always_stale)
    with pytest.raises(StoreError, match=f"card {card.id} kept changing while its review state was written"):
        settle(world.store, card.id, Settings())
    assert tries == [card.id] * SETTLE_ATTEMPTS
    assert world.store.cards.get(card.id).reps == 0


def test_concurrent_marks_on_one_card_end_in_the_replayed_state(world: World) -> None:
    """Eight threads send marks for the same card at once; the stored state is still the replay."""
    if type(world.store).__name__ != "SqliteStore":
        pytest.skip("mongomock is not thread-safe; the compare-and-set path is the same code")
    settings = Settings()
    (card,) = world.cards(1)
    marks = [mark(card.id, 1 + i % 4, START + i * 3600) for i in range(40)]
    random.Random(7).shuffle(marks)
    errors: list[BaseException] = []

    def send(part: list[Mark]) -> None:
        try:
            for m in part:
                apply_mark(world.store, world.alice.id, m, settings, now=START + 60 * DAY)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(marks[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    stored = world.store.cards.get(card.id)
    assert stored.reps == 40
    assert memory_of(stored) == replay(world.store.reviews.for_card(card.id), settings.scheduler())


def test_settle_repairs_a_state_that_lost_a_write(world: World) -> None:
    settings = Settings()
    (card,) = world.cards(1)
    apply_mark(world.store, world.alice.id, mark(card.id, 3, START), settings, now=START)
    good = world.store.cards.get(card.id)
    assert world.store.cards.set_memory(card.id, good.version, state=NEW, reps=0, stability=None)
    assert not world.store.cards.set_memory(card.id, good.version, state=NEW)  # stale version refused
    assert memory_of(settle(world.store, card.id, settings)) == memory_of(good)


def test_fitting_refuses_too_few_or_same_day_marks_without_crashing() -> None:
    from studybuddy.store.cards import Review
    from studybuddy.study.scheduling import OPTIMISE_MIN_REVIEWS, fit_parameters

    def review(card: int, i: int, at: float) -> Review:
        return Review(id=f"r{card}-{i}", owner_id="a", card_id=f"c{card}", mark_id=f"m{card}-{i}", grade=3,
                      reviewed_at=at)

    few = [review(c, 0, START + c) for c in range(10)]
    with pytest.raises(ValueError, match="reviews"):
        fit_parameters(few, Settings().parameters)
    # Enough marks, but all within one day: nothing tests memory, and the optimiser says so.
    same_day = [review(c, i, START + c * 10 + i) for c in range(OPTIMISE_MIN_REVIEWS // 4 + 1) for i in range(4)]
    with pytest.raises(ValueError, match="optimiser failed"):
        fit_parameters(same_day, Settings().parameters)


def test_due_queue_counts_new_limit_suspended_and_buried(world: World) -> None:
    from studybuddy.study.decks import bury_until_tomorrow, set_suspended
    from studybuddy.study.review import due_queue

    settings = Settings(new_per_day=3)
    cards = world.cards(10)
    now = START + 30 * DAY
    for card in cards[:4]:  # learnt a month ago: due now
        apply_mark(world.store, world.alice.id, mark(card.id, 3, START), settings, now=START)
        apply_mark(world.store, world.alice.id, mark(card.id, 3, START + 700), settings, now=START + 700)
    apply_mark(world.store, world.alice.id, mark(cards[4].id, 1, now - 30), settings, now=now)  # learning, 1 min
    queue = due_queue(world.store, world.alice.id, settings, "Asia/Jerusalem", now=now)
    assert (queue.due, queue.new) == (5, 2)  # the fifth card was today's first new card
    assert queue.cards[0].id == cards[4].id  # learning first
    set_suspended(world.store, cards[0], True)
    bury_until_tomorrow(world.store, cards[1], "Asia/Jerusalem", now=now)
    queue = due_queue(world.store, world.alice.id, settings, "Asia/Jerusalem", now=now)
    assert (queue.due, queue.new) == (3, 2)
    tomorrow = due_queue(world.store, world.alice.id, settings, "Asia/Jerusalem", now=now + DAY)
    assert cards[1].id in {c.id for c in tomorrow.cards} and tomorrow.new == 3
    assert due_queue(world.store, world.bob.id, settings, "Asia/Jerusalem", now=now).cards == []


def test_deleting_a_deck_or_a_course_takes_cards_and_log(world: World) -> None:
    from studybuddy.store.cards import Deck
    from studybuddy.store.models import new_id

    (card,) = world.cards(1)
    apply_mark(world.store, world.alice.id, mark(card.id, 3, START), Settings(), now=START)
    world.store.decks.delete(world.deck.id)
    assert world.store.cards.get(card.id) is None and world.store.reviews.for_card(card.id) == []
    deck = world.store.decks.add(Deck(id=new_id(), owner_id=world.alice.id, course_id=world.course.id, name="x"))
    (card,) = world.cards(1, deck=deck)
    apply_mark(world.store, world.alice.id, mark(card.id, 3, START), Settings(), now=START)
    world.store.delete_course(world.course.id)
    assert world.store.decks.list_for_owner(world.alice.id) == []
    assert world.store.cards.get(card.id) is None and world.store.reviews.count_for_owner(world.alice.id) == 0


def test_counts_are_what_the_queue_holds(world: World) -> None:
    from studybuddy.study.review import counts, due_queue

    settings = Settings(new_per_day=4)
    cards = world.cards(12)
    now = START + 30 * DAY
    for i, card in enumerate(cards[:8]):
        grades = [(0, 3), (700, 3)] if i < 5 else [(30 * DAY - 40 - i * 400, 1)]  # reviews, then learning
        for offset, grade in grades:
            apply_mark(world.store, world.alice.id, mark(card.id, grade, START + offset), settings,
                       now=START + offset)
    for scope in ({}, {"deck_id": world.deck.id}, {"course_id": world.course.id}):
        queue = due_queue(world.store, world.alice.id, settings, "Asia/Jerusalem", now=now, **scope)
        assert counts(world.store, world.alice.id, settings, "Asia/Jerusalem", now=now, **scope) == \
            (queue.due, queue.new)
    queue = due_queue(world.store, world.alice.id, settings, "Asia/Jerusalem", now=now)
    assert (queue.due, queue.new) == (8, 1)  # three of today's four new cards were met
