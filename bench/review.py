"""Review scheduling on the embedded store: applying one mark (the review log write, the FSRS step
and the compare-and-set of the card's state) and loading the due queue of a 10,000-card collection,
next to a bare py-fsrs review_card call measured in the same run. Prints medians and ratios.

Aims (issue 12): a mark <= 3x bare py-fsrs + 2 ms; the due queue of 10,000 cards <= 50 ms.

Usage: python bench/review.py [--cards 10000] [--marks 300] [--loads 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import fsrs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studybuddy.store.cards import Card, Deck, Review  # noqa: E402
from studybuddy.store.models import Course, User, new_id  # noqa: E402
from studybuddy.store.sqlite import SqliteStore  # noqa: E402
from studybuddy.study.review import Mark, apply_mark, due_queue  # noqa: E402
from studybuddy.study.scheduling import Settings, replay, utc  # noqa: E402

DAY = 86400.0
TIMEZONE = "Asia/Jerusalem"


def build(store: SqliteStore, cards: int, now: float, settings: Settings) -> str:
    """A student with `cards` cards in 20 decks; 70% studied over the last 90 days (1-6 marks each,
    states computed by replaying their log, as the app does), so their due times spread out."""
    rng = random.Random(12)
    owner = store.users.add(User(id=new_id(), email="bench@example.com", password_hash="x"))
    course = store.courses.add(Course(id=new_id(), owner_id=owner.id, name="bench"))
    decks = [store.decks.add(Deck(id=new_id(), owner_id=owner.id, course_id=course.id, name=f"deck {i}"))
             for i in range(20)]
    made = [Card(id=new_id(), owner_id=owner.id, course_id=course.id, deck_id=decks[i % 20].id,
                 front=f"שאלה {i}", back=f"תשובה {i}", position=i, created_at=now - 100 * DAY + i)
            for i in range(cards)]
    store.cards.add_many(made)
    scheduler = settings.scheduler()
    for card in made[: int(cards * 0.7)]:
        at = now - rng.uniform(5, 90) * DAY
        reviews = []
        for _ in range(rng.randint(1, 6)):
            if at >= now:
                break
            reviews.append(Review(id=new_id(), owner_id=owner.id, card_id=card.id, mark_id=str(uuid.uuid4()),
                                  grade=rng.choices([1, 2, 3, 4], [10, 15, 65, 10])[0], reviewed_at=round(at, 3)))
            at += rng.uniform(1, 20) * DAY
        for review in reviews:
            store.reviews.add(review)
        store.cards.set_memory(card.id, 0, **replay(reviews, scheduler).fields())
    return owner.id


def bare_marks(samples: int, settings: Settings, now: float) -> list[float]:
    """py-fsrs alone: review_card on a card in the Review state."""
    scheduler = settings.scheduler()
    card = fsrs.Card(card_id=1, due=utc(now - 10 * DAY))
    card, _ = scheduler.review_card(card, fsrs.Rating.Good, utc(now - 10 * DAY))
    card, _ = scheduler.review_card(card, fsrs.Rating.Good, utc(now - 10 * DAY + 600))
    out = []
    for i in range(samples):
        start = time.perf_counter()
        scheduler.review_card(card, fsrs.Rating(1 + i % 4), utc(now))
        out.append(time.perf_counter() - start)
    return out


def app_marks(store: SqliteStore, owner_id: str, samples: int, settings: Settings, now: float) -> list[float]:
    queue = due_queue(store, owner_id, settings, TIMEZONE, now=now, limit=samples)
    out = []
    for i, card in enumerate(queue.cards[:samples]):
        mark = Mark(mark_id=str(uuid.uuid4()), card_id=card.id, grade=1 + i % 4, reviewed_at=now + i)
        start = time.perf_counter()
        apply_mark(store, owner_id, mark, settings, now=now + i)
        out.append(time.perf_counter() - start)
    return out


def queue_loads(store: SqliteStore, owner_id: str, samples: int, settings: Settings,
                now: float) -> tuple[list[float], int]:
    out, size = [], 0
    for _ in range(samples):
        start = time.perf_counter()
        queue = due_queue(store, owner_id, settings, TIMEZONE, now=now)
        out.append(time.perf_counter() - start)
        size = len(queue.cards)
    return out, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--marks", type=int, default=300)
    parser.add_argument("--loads", type=int, default=30)
    args = parser.parse_args()
    settings, now = Settings(), time.time()
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "bench.db", Path(tmp) / "blobs")
        try:
            owner_id = build(store, args.cards, now, settings)
            loads, queued = queue_loads(store, owner_id, args.loads, settings, now)
            bare = bare_marks(args.marks, settings, now)
            marks = app_marks(store, owner_id, args.marks, settings, now)
            bare2 = bare_marks(args.marks, settings, now)  # again, after: the machine is shared
        finally:
            store.close()
    bare_ms = statistics.median(bare + bare2) * 1000
    mark_ms = statistics.median(marks) * 1000
    load_ms = statistics.median(loads) * 1000
    mark_aim = 3 * bare_ms + 2
    print(f"review bench: {args.cards:,} cards (70% studied), SQLite, {len(marks)} marks, {args.loads} queue loads "
          f"({queued} cards in today's queue)")
    print(f"bare py-fsrs review_card      median {bare_ms:8.3f} ms")
    print(f"mark (log + FSRS + state)     median {mark_ms:8.3f} ms = {mark_ms / bare_ms:6.1f}x bare py-fsrs; "
          f"aim <= 3x bare + 2 ms = {mark_aim:.3f} ms  {'OK' if mark_ms <= mark_aim else 'MISSED'}")
    print(f"due queue of {args.cards:,} cards      median {load_ms:8.3f} ms = {load_ms / bare_ms:6.1f}x bare py-fsrs; "
          f"aim <= 50 ms  {'OK' if load_ms <= 50 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
