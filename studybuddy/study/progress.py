"""Progress from the review log and the cards: reviews a day, true retention against the target,
the due forecast, and cards by state — for one course or all of a student's courses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..store.base import Store
from ..store.cards import NEW, STATE_NAMES, Review, review_order
from .scheduling import Settings, local_day_start

HISTORY_DAYS = 30
RETENTION_WEEKS = 12
FORECAST_DAYS = 30


@dataclass(frozen=True)
class Progress:
    days: list[dt.date]  # the last HISTORY_DAYS study days, oldest first
    reviews_per_day: list[int]
    weeks: list[dt.date]  # the first day of each of the last RETENTION_WEEKS weeks
    retention_per_week: list[float | None]  # passed / long-term reviews, None without any
    retention: float | None  # over the last HISTORY_DAYS days
    retention_reviews: int
    target: float
    forecast_days: list[dt.date]
    forecast: list[int]  # cards due each of the next FORECAST_DAYS days (overdue ones today)
    states: dict[str, int]
    suspended: int
    total_reviews: int


def _long_term(reviews: list[Review]) -> list[tuple[Review, bool]]:
    """Each review that came a day or more after the card's previous one, and whether it passed:
    what "true retention" counts (learning steps within a day are not memory tests)."""
    by_card: dict[str, list[Review]] = {}
    for review in reviews:
        by_card.setdefault(review.card_id, []).append(review)
    out: list[tuple[Review, bool]] = []
    for marks in by_card.values():
        marks.sort(key=review_order)
        for before, review in zip(marks, marks[1:]):
            if review.reviewed_at - before.reviewed_at >= 86400:
                out.append((review, review.grade > 1))
    return out


def progress(store: Store, owner_id: str, settings: Settings, timezone: str, now: float,
             course_id: str | None = None) -> Progress:
    cards = store.cards.list_for_owner(owner_id, course_id)
    ids = {c.id for c in cards}
    reviews = [r for r in store.reviews.list_for_owner(owner_id) if r.card_id in ids]
    today = local_day_start(now, timezone)
    starts = [local_day_start(now, timezone, days=-i) for i in range(HISTORY_DAYS - 1, -1, -1)]
    per_day = [0] * HISTORY_DAYS
    for review in reviews:
        if review.reviewed_at >= starts[0]:
            index = sum(1 for s in starts if s <= review.reviewed_at) - 1
            per_day[index] += 1
    week_starts = [local_day_start(now, timezone, days=-7 * i - 6) for i in range(RETENTION_WEEKS - 1, -1, -1)]
    passed, tested = [0] * RETENTION_WEEKS, [0] * RETENTION_WEEKS
    recent_passed = recent_tested = 0
    for review, ok in _long_term(reviews):
        if review.reviewed_at >= week_starts[0]:
            index = sum(1 for s in week_starts if s <= review.reviewed_at) - 1
            tested[index] += 1
            passed[index] += int(ok)
        if review.reviewed_at >= starts[0]:
            recent_tested += 1
            recent_passed += int(ok)
    forecast = [0] * FORECAST_DAYS
    states = {name: 0 for name in STATE_NAMES.values()}
    suspended = 0
    for card in cards:
        if card.suspended:
            suspended += 1
            continue
        states[STATE_NAMES[card.state if card.reps else NEW]] += 1
        if card.reps:
            day = int(max(0.0, card.due - today) // 86400)
            if day < FORECAST_DAYS:
                forecast[day] += 1
    zone_day = _local_date(timezone)
    return Progress(
        days=[zone_day(s) for s in starts], reviews_per_day=per_day,
        weeks=[zone_day(s) for s in week_starts],
        retention_per_week=[p / t if t else None for p, t in zip(passed, tested)],
        retention=recent_passed / recent_tested if recent_tested else None, retention_reviews=recent_tested,
        target=settings.desired_retention,
        forecast_days=[zone_day(local_day_start(now, timezone, days=i)) for i in range(FORECAST_DAYS)],
        forecast=forecast, states=states, suspended=suspended, total_reviews=len(reviews))


def _local_date(timezone: str):  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    return lambda ts: dt.datetime.fromtimestamp(ts, zone).date()
