"""FSRS scheduling over py-fsrs: a card's memory state is its review log replayed in device-time
order, and applying one more (later) mark gives the same state as replaying the longer log.

Fuzzing is off: a replay must give the same due times every time it runs.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

import fsrs
from fsrs.scheduler import DEFAULT_PARAMETERS as FSRS_DEFAULT_PARAMETERS
from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

from ..store.cards import LEARNING, NEW, RELEARNING, REVIEW, Card, Review, review_order

GRADES = {"again": 1, "hard": 2, "good": 3, "easy": 4}
LEARNING_STEPS = (60, 600)  # seconds: 1 minute, 10 minutes
RELEARNING_STEPS = (600,)
MAXIMUM_INTERVAL = 36500  # days
LEARN_AHEAD = 20 * 60  # a (re)learning card due this soon is shown now, as Anki does
DAY_STARTS_AT_HOUR = 4  # a study day ends at 4 in the morning (the student's local time)
DEFAULT_RETENTION = 0.9
RETENTION_RANGE = (0.70, 0.97)
DEFAULT_NEW_PER_DAY = 20
NEW_PER_DAY_RANGE = (0, 500)
DEFAULT_PARAMETERS: tuple[float, ...] = tuple(FSRS_DEFAULT_PARAMETERS)


@dataclass(frozen=True)
class Settings:
    """A student's scheduling settings."""

    desired_retention: float = DEFAULT_RETENTION
    new_per_day: int = DEFAULT_NEW_PER_DAY
    parameters: tuple[float, ...] = DEFAULT_PARAMETERS
    optimised_at: float = 0.0
    optimised_reviews: int = 0

    def scheduler(self) -> fsrs.Scheduler:
        return _scheduler(self.parameters, self.desired_retention)

    def for_device(self) -> dict[str, object]:
        """What the page's own FSRS port needs to schedule offline."""
        return {"parameters": list(self.parameters), "desired_retention": self.desired_retention,
                "learning_steps": list(LEARNING_STEPS), "relearning_steps": list(RELEARNING_STEPS),
                "maximum_interval": MAXIMUM_INTERVAL, "learn_ahead": LEARN_AHEAD}


@lru_cache(maxsize=64)
def _scheduler(parameters: tuple[float, ...], desired_retention: float) -> fsrs.Scheduler:
    return fsrs.Scheduler(
        parameters=parameters, desired_retention=desired_retention,
        learning_steps=[dt.timedelta(seconds=s) for s in LEARNING_STEPS],
        relearning_steps=[dt.timedelta(seconds=s) for s in RELEARNING_STEPS],
        maximum_interval=MAXIMUM_INTERVAL, enable_fuzzing=False)


@dataclass(frozen=True)
class Memory:
    """The memory state of a card (the store's MEMORY_FIELDS)."""

    state: int = NEW
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: float = 0.0
    last_review: float | None = None
    reps: int = 0
    lapses: int = 0
    introduced_at: float | None = None

    def fields(self) -> dict[str, object]:
        return asdict(self)


NEW_MEMORY = Memory()


def memory_of(card: Card) -> Memory:
    return Memory(state=card.state, step=card.step, stability=card.stability, difficulty=card.difficulty,
                  due=card.due, last_review=card.last_review, reps=card.reps, lapses=card.lapses,
                  introduced_at=card.introduced_at)


def utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)


def to_fsrs(memory: Memory, at: float) -> fsrs.Card:
    """The py-fsrs card for a memory state (card_id is given: py-fsrs would sleep to make one)."""
    if memory.reps == 0 or memory.last_review is None:
        return fsrs.Card(card_id=1, due=utc(at))
    return fsrs.Card(card_id=1, state=fsrs.State(memory.state), step=memory.step, stability=memory.stability,
                     difficulty=memory.difficulty, due=utc(memory.due), last_review=utc(memory.last_review))


def step(memory: Memory, grade: int, at: float, scheduler: fsrs.Scheduler) -> Memory:
    """The memory state after one more mark made at `at` (later than every mark before it)."""
    reviewed, _log = scheduler.review_card(to_fsrs(memory, at), fsrs.Rating(grade), review_datetime=utc(at))
    lapsed = grade == 1 and memory.state == REVIEW
    return Memory(state=int(reviewed.state), step=reviewed.step, stability=reviewed.stability,
                  difficulty=reviewed.difficulty, due=reviewed.due.timestamp(), last_review=at,
                  reps=memory.reps + 1, lapses=memory.lapses + int(lapsed),
                  introduced_at=memory.introduced_at if memory.introduced_at is not None else at)


def replay(reviews: Iterable[Review], scheduler: fsrs.Scheduler) -> Memory:
    """The memory state a card's log gives: the marks that stand, in device-time order."""
    memory = NEW_MEMORY
    for review in sorted((r for r in reviews if not r.undone), key=review_order):
        memory = step(memory, review.grade, review.reviewed_at, scheduler)
    return memory


def next_intervals(memory: Memory, at: float, scheduler: fsrs.Scheduler) -> dict[str, float]:
    """Seconds until the card is due again after each grade (what the four buttons show)."""
    return {name: step(memory, grade, at, scheduler).due - at for name, grade in GRADES.items()}


def local_day_start(now: float, timezone: str, days: int = 0) -> float:
    """When the study day holding `now` started (4 in the morning, local time), plus `days` days."""
    zone = _zone(timezone)
    local = utc(now).astimezone(zone)
    start = local.replace(hour=DAY_STARTS_AT_HOUR, minute=0, second=0, microsecond=0)
    if local < start:
        start -= dt.timedelta(days=1)
    start = (start.replace(tzinfo=None) + dt.timedelta(days=days)).replace(tzinfo=zone)
    return start.timestamp()


@lru_cache(maxsize=8)
def _zone(name: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def is_due_now(card: Card, now: float, day_end: float) -> bool:
    """A review card is due for the whole day it falls on; a (re)learning one when its minutes are up."""
    if card.reps == 0:
        return False
    if card.state in (LEARNING, RELEARNING):
        return card.due <= now + LEARN_AHEAD
    return card.due < day_end


# The optimiser -------------------------------------------------------------------------------
OPTIMISE_MIN_REVIEWS = 400


@dataclass(frozen=True)
class Fit:
    parameters: tuple[float, ...]
    reviews: int
    cards: int
    log_loss_before: float = math.nan
    log_loss_after: float = math.nan
    notes: list[str] = field(default_factory=list)


def training_items(reviews: Iterable[Review]) -> tuple[list[list[tuple[int, int]]], int, int]:
    """Each card's history as FSRS training items: one per mark after the first, holding every
    (grade, whole days since the mark before) up to it. Returns (items, marks, cards)."""
    by_card: dict[str, list[Review]] = {}
    counted = 0
    for review in reviews:
        if not review.undone:
            by_card.setdefault(review.card_id, []).append(review)
            counted += 1
    items: list[list[tuple[int, int]]] = []
    for marks in by_card.values():
        marks.sort(key=review_order)
        history: list[tuple[int, int]] = []
        for index, mark in enumerate(marks):
            days = 0 if index == 0 else int((mark.reviewed_at - marks[index - 1].reviewed_at) // 86400)
            history.append((mark.grade, max(days, 0)))
            # fsrs-rs learns from a history only once a day or more has passed in it.
            if index > 0 and any(d > 0 for _, d in history):
                items.append(list(history))
    return items, counted, len(by_card)


def fit_parameters(reviews: Iterable[Review], current: tuple[float, ...]) -> Fit:
    """Fit FSRS-6 parameters to a student's own log with fsrs-rs (the optimiser Anki ships), then
    clamp them into py-fsrs's bounds. Raises ValueError when there are too few marks."""
    import fsrs_rs_python as rs

    items, counted, cards = training_items(reviews)
    if counted < OPTIMISE_MIN_REVIEWS:
        raise ValueError(f"{counted} reviews; {OPTIMISE_MIN_REVIEWS} are needed")
    train = [rs.FSRSItem([rs.FSRSReview(grade, days) for grade, days in item]) for item in items]
    # Log loss is measured on the marks that test memory: those a day or more after the one before.
    tests = [rs.FSRSItem([rs.FSRSReview(g, d) for g, d in item]) for item in items if item[-1][1] > 0]
    try:
        fitted = rs.FSRS(list(current)).compute_parameters(train)
        before = rs.FSRS(list(current)).evaluate(tests).log_loss
        after = rs.FSRS(list(fitted)).evaluate(tests).log_loss
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException, a BaseException
        raise ValueError(f"the optimiser failed: {exc}") from None
    parameters = tuple(min(max(float(p), lo), hi)
                       for p, lo, hi in zip(fitted, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS))
    if len(parameters) != len(DEFAULT_PARAMETERS):
        raise ValueError(f"the optimiser gave {len(parameters)} parameters")
    return Fit(parameters=parameters, reviews=counted, cards=cards,
               log_loss_before=before, log_loss_after=after)


def with_parameters(settings: Settings, parameters: tuple[float, ...], reviews: int, at: float) -> Settings:
    return replace(settings, parameters=parameters, optimised_at=at, optimised_reviews=reviews)
