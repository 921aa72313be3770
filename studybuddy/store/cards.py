"""Decks, cards and their review log: the records and the repository interface of both stores.

A card's memory state (FSRS stability, difficulty, due time...) is a pure function of its review
log; the store keeps it next to the card so that the due queue is one indexed query. `version`
grows on every state write, so a write computed from an older read can be refused (compare and set).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

from .models import now

# Card states as shown to the student; 1-3 are py-fsrs's own State values.
NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3
STATE_NAMES = {NEW: "new", LEARNING: "learning", REVIEW: "review", RELEARNING: "relearning"}

# The fields of a card that hold its memory state (written only through set_memory).
MEMORY_FIELDS = ("state", "step", "stability", "difficulty", "due", "last_review", "reps", "lapses",
                 "introduced_at")
# The fields a student edits.
CONTENT_FIELDS = ("front", "back", "tags", "source", "deck_id", "course_id", "position", "suspended",
                  "buried_until")


@dataclass(frozen=True)
class Deck:
    id: str
    owner_id: str
    course_id: str
    name: str
    source_artifact_id: str = ""  # the flashcards artifact it was made from, if any
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass(frozen=True)
class Card:
    id: str
    owner_id: str
    course_id: str
    deck_id: str
    front: str
    back: str
    tags: list[str] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)  # {document_id, document_name, page}
    position: int = 0
    suspended: bool = False
    buried_until: float = 0.0
    state: int = NEW
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: float = 0.0
    last_review: float | None = None
    reps: int = 0
    lapses: int = 0
    introduced_at: float | None = None  # the time of its first review
    version: int = 0
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass(frozen=True)
class Review:
    """One mark of one card. `mark_id` is made on the device and is unique per student, so a mark
    sent twice is stored once. An undone mark stays (undone=True) so a late resend stays a duplicate."""

    id: str
    owner_id: str
    card_id: str
    mark_id: str
    grade: int  # 1 again, 2 hard, 3 good, 4 easy
    reviewed_at: float  # when it was made, on the device's clock
    received_at: float = field(default_factory=now)
    duration_ms: int = 0
    undone: bool = False


class DeckRepo(Protocol):
    def add(self, deck: Deck) -> Deck:
        """Insert; DuplicateError if the id exists."""
    def get(self, deck_id: str) -> Deck | None: ...
    def list_for_owner(self, owner_id: str, course_id: str | None = None) -> list[Deck]: ...
    def update(self, deck_id: str, **fields: Any) -> Deck | None: ...
    def delete(self, deck_id: str) -> None:
        """The deck, its cards and their review log."""


class CardRepo(Protocol):
    def add(self, card: Card) -> Card: ...
    def add_many(self, cards: Iterable[Card]) -> int:
        """Insert the cards whose id is new; returns how many were inserted."""
    def get(self, card_id: str) -> Card | None: ...
    def update(self, card_id: str, **fields: Any) -> Card | None:
        """Change content fields (CONTENT_FIELDS) only."""
    def set_memory(self, card_id: str, expected_version: int, **memory: Any) -> bool:
        """Write the memory state if the card is still at `expected_version`; bumps the version."""
    def delete(self, card_id: str) -> None: ...
    def list_for_deck(self, deck_id: str) -> list[Card]: ...
    def list_for_owner(self, owner_id: str, course_id: str | None = None) -> list[Card]: ...
    def list_due(self, owner_id: str, until: float, now: float, course_id: str | None = None,
                 deck_id: str | None = None, limit: int = 1000) -> list[Card]:
        """Reviewed cards due by `until`, not suspended nor buried at `now`, earliest first."""
    def list_new(self, owner_id: str, now: float, course_id: str | None = None,
                 deck_id: str | None = None, limit: int = 1000) -> list[Card]:
        """Never reviewed cards, not suspended nor buried, in deck order."""
    def list_new_per_deck(self, owner_id: str, now: float, per_deck: int, limit: int) -> list[Card]:
        """list_new of each of the student's decks in turn (decks in decks.list_for_owner order),
        up to per_deck cards each and limit in all."""
    def count_due(self, owner_id: str, until: float, now: float, course_id: str | None = None,
                  deck_id: str | None = None, learning_until: float | None = None) -> int:
        """Like list_due; with `learning_until`, (re)learning cards count only when due by then and
        review cards only when due before `until` (what "due now" means)."""
    def count_new(self, owner_id: str, now: float, course_id: str | None = None,
                  deck_id: str | None = None) -> int: ...
    def count_introduced(self, owner_id: str, since: float) -> int:
        """Cards whose first review was at or after `since` (today's new cards)."""
    def count_for_deck(self, deck_id: str) -> int: ...


class ReviewRepo(Protocol):
    def add(self, review: Review) -> Review:
        """Insert; DuplicateError if the student already sent this mark id."""
    def get_by_mark(self, owner_id: str, mark_id: str) -> Review | None: ...
    def for_card(self, card_id: str) -> list[Review]:
        """Every mark of the card (undone ones too), in device-time order."""
    def set_undone(self, review_id: str, undone: bool) -> None: ...
    def list_for_owner(self, owner_id: str, since: float = 0.0) -> list[Review]:
        """The student's marks that stand (not undone), in device-time order."""
    def count_for_owner(self, owner_id: str) -> int: ...


def review_order(review: Review) -> tuple[float, str]:
    """Device-time order; two marks made in the same instant keep a stable order."""
    return review.reviewed_at, review.mark_id
