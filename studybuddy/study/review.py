"""Review: marks applied to cards exactly once in device-time order, undo, the due queue and its
counts, and the student's scheduling settings. The server's review log is the truth; a card's
stored memory state is always the replay of its log with the student's current settings."""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..store.base import DuplicateError, Store, StoreError
from ..store.cards import Card, Review
from ..store.models import Item, new_id
from .scheduling import (
    DEFAULT_PARAMETERS,
    GRADES,
    LEARN_AHEAD,
    NEW_PER_DAY_RANGE,
    RETENTION_RANGE,
    Memory,
    Settings,
    is_due_now,
    local_day_start,
    memory_of,
    replay,
    step,
)

log = logging.getLogger(__name__)

SETTINGS_KIND = "review_settings"
# Mark ids are made on the device (a UUID); they are the key that makes a resend harmless.
MARK_ID_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")
SETTLE_ATTEMPTS = 50


def N_(message: str) -> str:
    return message


class ReviewError(ValueError):
    """A mark or request that cannot be applied; the message is English, shown translated."""


MALFORMED = N_("A review mark is not in the expected form.")
GONE = N_("This card no longer exists.")


# Settings ------------------------------------------------------------------------------------
def load_settings(store: Store, owner_id: str) -> Settings:
    item = store.items.get_by_key(SETTINGS_KIND, owner_id, "settings")
    if item is None:
        return Settings()
    data = item.data
    parameters = tuple(float(p) for p in data.get("parameters") or DEFAULT_PARAMETERS)
    if len(parameters) != len(DEFAULT_PARAMETERS):
        parameters = DEFAULT_PARAMETERS
    return Settings(desired_retention=float(data.get("desired_retention", 0.9)),
                    new_per_day=int(data.get("new_per_day", 20)), parameters=parameters,
                    optimised_at=float(data.get("optimised_at", 0.0)),
                    optimised_reviews=int(data.get("optimised_reviews", 0)))


def save_settings(store: Store, owner_id: str, settings: Settings) -> None:
    existing = store.items.get_by_key(SETTINGS_KIND, owner_id, "settings")
    data = {"desired_retention": settings.desired_retention, "new_per_day": settings.new_per_day,
            "parameters": list(settings.parameters), "optimised_at": settings.optimised_at,
            "optimised_reviews": settings.optimised_reviews}
    item = Item(id=existing.id if existing else new_id(), kind=SETTINGS_KIND, owner_id=owner_id, key="settings",
                data=data, created_at=existing.created_at if existing else time.time())
    store.items.put(item)


def parse_settings(form: Mapping[str, Any], current: Settings) -> Settings:
    """Desired retention (a percentage or a fraction) and new cards per day from a form."""
    try:
        retention = float(str(form.get("desired_retention", "")).strip().rstrip("%"))
    except ValueError:
        raise ReviewError(N_("The desired retention must be a number from 70 to 97.")) from None
    if retention > 1:
        retention /= 100
    if not math.isfinite(retention) or not RETENTION_RANGE[0] <= retention <= RETENTION_RANGE[1]:
        raise ReviewError(N_("The desired retention must be a number from 70 to 97."))
    try:
        per_day = int(str(form.get("new_per_day", "")).strip())
    except ValueError:
        raise ReviewError(N_("New cards a day must be a whole number from 0 to 500.")) from None
    if not NEW_PER_DAY_RANGE[0] <= per_day <= NEW_PER_DAY_RANGE[1]:
        raise ReviewError(N_("New cards a day must be a whole number from 0 to 500."))
    return replace(current, desired_retention=round(retention, 4), new_per_day=per_day)


# Marks ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mark:
    mark_id: str
    card_id: str
    grade: int
    reviewed_at: float
    duration_ms: int = 0


def legacy_card_id(artifact_id: str, index: int) -> str:
    """The card made from card `index` of a flashcards artifact (marks queued before decks existed)."""
    from .decks import generated_card_id

    return generated_card_id(artifact_id, index)


def parse_mark(raw: Any) -> Mark:
    """A mark as the device sends it: {id, card_id, grade, reviewed_at[, duration_ms]}; older
    devices send {artifact_id, card_index} instead of card_id."""
    if not isinstance(raw, dict):
        raise ReviewError(MALFORMED)
    mark_id, grade, reviewed_at = raw.get("id"), raw.get("grade"), raw.get("reviewed_at")
    if not isinstance(mark_id, str) or not MARK_ID_RE.match(mark_id):
        raise ReviewError(MALFORMED)
    if isinstance(grade, str):
        grade = GRADES.get(grade)
    if not isinstance(grade, int) or isinstance(grade, bool) or grade not in GRADES.values():
        raise ReviewError(MALFORMED)
    if not isinstance(reviewed_at, (int, float)) or isinstance(reviewed_at, bool) or not \
            math.isfinite(reviewed_at) or reviewed_at <= 0:
        raise ReviewError(MALFORMED)
    card_id = raw.get("card_id")
    if "artifact_id" in raw and not isinstance(card_id, str):
        artifact_id, index = raw.get("artifact_id"), raw.get("card_index")
        if not isinstance(artifact_id, str) or not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise ReviewError(MALFORMED)
        card_id = legacy_card_id(artifact_id, index)
    if not isinstance(card_id, str) or not card_id or len(card_id) > 64:
        raise ReviewError(MALFORMED)
    duration = raw.get("duration_ms", 0)
    duration = int(duration) if isinstance(duration, (int, float)) and not isinstance(duration, bool) \
        and math.isfinite(duration) else 0
    return Mark(mark_id, card_id, int(grade), round(float(reviewed_at), 3), max(0, min(duration, 3_600_000)))


def settle(store: Store, card_id: str, settings: Settings, added: Review | None = None) -> Card | None:
    """Bring the card's stored state in line with its log. A mark later than everything the stored
    state holds is applied on top of it; anything else (a late mark from the past, an undo) replays
    the whole log. Concurrent writers retry: the state is written only over the version it was read at."""
    scheduler = settings.scheduler()
    for _ in range(SETTLE_ATTEMPTS):
        card = store.cards.get(card_id)
        if card is None:
            return None
        memory: Memory
        if added is not None and (card.last_review is None or added.reviewed_at > card.last_review):
            memory = step(memory_of(card), added.grade, added.reviewed_at, scheduler)
        else:
            memory = replay(store.reviews.for_card(card_id), scheduler)
        if store.cards.set_memory(card_id, card.version, **memory.fields()):
            return store.cards.get(card_id)
    raise StoreError(f"card {card_id} kept changing while its review state was written")


def apply_mark(store: Store, owner_id: str, mark: Mark, settings: Settings, now: float | None = None,
               card: Card | None = None) -> tuple[bool, Card]:
    """Apply one mark; (False, card) when this mark id was applied before. Marks from the future
    (a device clock ahead) count as made now."""
    now = time.time() if now is None else now
    card = card or store.cards.get(mark.card_id)
    if card is None or card.owner_id != owner_id:
        raise ReviewError(GONE)
    review = Review(id=new_id(), owner_id=owner_id, card_id=card.id, mark_id=mark.mark_id, grade=mark.grade,
                    reviewed_at=min(mark.reviewed_at, round(now, 3)), received_at=now,
                    duration_ms=mark.duration_ms)
    try:
        store.reviews.add(review)
    except DuplicateError:
        return False, card
    settled = settle(store, card.id, settings, review)
    return True, settled or card


def undo_mark(store: Store, owner_id: str, mark_id: str, settings: Settings) -> Card:
    """Take a mark back: the card returns to exactly the state its other marks give."""
    review = store.reviews.get_by_mark(owner_id, mark_id) if MARK_ID_RE.match(mark_id or "") else None
    if review is None:
        raise ReviewError(N_("There is no such review mark to undo."))
    if not review.undone:
        store.reviews.set_undone(review.id, True)
    card = settle(store, review.card_id, settings)
    if card is None:
        raise ReviewError(GONE)
    return card


def reschedule_all(store: Store, owner_id: str, settings: Settings) -> int:
    """Replay every reviewed card of the student with new settings; returns how many changed."""
    by_card: dict[str, list[Review]] = {}
    for review in store.reviews.list_for_owner(owner_id):
        by_card.setdefault(review.card_id, []).append(review)
    scheduler = settings.scheduler()
    changed = 0
    for card_id, reviews in by_card.items():
        for _ in range(SETTLE_ATTEMPTS):
            card = store.cards.get(card_id)
            if card is None:
                break
            memory = replay(reviews, scheduler)
            if memory == memory_of(card) or store.cards.set_memory(card_id, card.version, **memory.fields()):
                changed += int(memory != memory_of(card))
                break
            reviews = store.reviews.for_card(card_id)
    return changed


# The due queue -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Queue:
    cards: list[Card]  # due now (learning first, then reviews), then today's new cards
    due: int
    new: int
    later_today: int  # (re)learning cards that come back later today
    day_end: float


def due_queue(store: Store, owner_id: str, settings: Settings, timezone: str, now: float | None = None,
              course_id: str | None = None, deck_id: str | None = None, limit: int = 1000) -> Queue:
    now = time.time() if now is None else now
    day_start = local_day_start(now, timezone)
    day_end = local_day_start(now, timezone, days=1)
    scheduled = store.cards.list_due(owner_id, day_end, now, course_id=course_id, deck_id=deck_id, limit=limit)
    due = [c for c in scheduled if is_due_now(c, now, day_end)]
    due.sort(key=lambda c: (c.state not in (1, 3), c.due, c.id))
    new_left = max(0, settings.new_per_day - store.cards.count_introduced(owner_id, day_start))
    new_cards = store.cards.list_new(owner_id, now, course_id=course_id, deck_id=deck_id,
                                     limit=min(new_left, max(0, limit - len(due)))) if new_left else []
    return Queue(cards=due + new_cards, due=len(due), new=len(new_cards),
                 later_today=len(scheduled) - len(due), day_end=day_end)


def counts(store: Store, owner_id: str, settings: Settings, timezone: str, now: float | None = None,
           course_id: str | None = None, deck_id: str | None = None) -> tuple[int, int]:
    """(due now, new today) for the student, a course or a deck: what due_queue holds, counted."""
    now = time.time() if now is None else now
    day_end = local_day_start(now, timezone, days=1)
    due = store.cards.count_due(owner_id, day_end, now, course_id=course_id, deck_id=deck_id,
                                learning_until=now + LEARN_AHEAD)
    new_left = max(0, settings.new_per_day - store.cards.count_introduced(owner_id, local_day_start(now, timezone)))
    new = min(new_left, store.cards.count_new(owner_id, now, course_id=course_id, deck_id=deck_id)) if new_left else 0
    return due, new
