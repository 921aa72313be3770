"""Decks, cards and the review log in MongoDB (collections decks, cards, card_reviews)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Iterable, TypeVar

from pymongo.errors import BulkWriteError

from .cards import CONTENT_FIELDS, MEMORY_FIELDS, Card, Deck, Review
from .mongo_coll import _to_doc, store_errors

T = TypeVar("T")


def ensure_indexes(db: Any) -> None:
    db.decks.create_index([("owner_id", 1), ("course_id", 1), ("created_at", 1)])
    db.cards.create_index([("deck_id", 1), ("position", 1), ("created_at", 1)])
    db.cards.create_index([("owner_id", 1), ("reps", 1), ("due", 1)])
    db.cards.create_index("course_id")
    db.card_reviews.create_index([("owner_id", 1), ("mark_id", 1)], unique=True)
    db.card_reviews.create_index([("card_id", 1), ("reviewed_at", 1)])
    db.card_reviews.create_index([("owner_id", 1), ("reviewed_at", 1)])


def delete_for_course(db: Any, course_id: str) -> None:
    """What deleting a course removes here (SQLite does the same with ON DELETE CASCADE)."""
    card_ids = [d["_id"] for d in db.cards.find({"course_id": course_id}, {"_id": 1})]
    if card_ids:
        db.card_reviews.delete_many({"card_id": {"$in": card_ids}})
    db.cards.delete_many({"course_id": course_id})
    db.decks.delete_many({"course_id": course_id})


def _load(cls: type[T], doc: dict[str, Any] | None) -> T | None:
    if doc is None:
        return None
    values = {}
    for f in fields(cls):  # type: ignore[arg-type]
        key = "_id" if f.name == "id" else f.name
        if key in doc:
            values[f.name] = doc[key]
    return cls(**values)


@store_errors
class _Records:
    """pymongo's errors become the store's in store_errors, around every public method."""

    model: type = object

    def __init__(self, coll: Any):
        self.c = coll

    def _find(self, query: dict[str, Any], sort: list[tuple[str, int]], limit: int = 0) -> list[Any]:
        cursor = self.c.find(query).sort(sort)
        if limit:
            cursor = cursor.limit(limit)
        return [_load(self.model, d) for d in cursor]

    def _count(self, query: dict[str, Any]) -> int:
        return int(self.c.count_documents(query))

    def _set(self, id_: str, values: dict[str, Any], allowed: Iterable[str]) -> None:
        unknown = set(values) - set(allowed)
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}")
        self.c.update_one({"_id": id_}, {"$set": values})

    def add(self, record: Any) -> Any:
        self.c.insert_one(_to_doc(record))
        return record

    def get(self, id_: str) -> Any:
        return _load(self.model, self.c.find_one({"_id": id_}))


@store_errors
class MongoDecks(_Records):
    model = Deck

    def __init__(self, coll: Any, cards: Any, reviews: Any):
        super().__init__(coll)
        self.cards, self.reviews = cards, reviews

    def list_for_owner(self, owner_id: str, course_id: str | None = None) -> list[Deck]:
        query: dict[str, Any] = {"owner_id": owner_id}
        if course_id is not None:
            query["course_id"] = course_id
        return self._find(query, [("created_at", 1), ("_id", 1)])

    def update(self, deck_id: str, **values: Any) -> Deck | None:
        if values:
            self._set(deck_id, values, ("name", "course_id", "updated_at"))
        return self.get(deck_id)  # type: ignore[no-any-return]

    def delete(self, deck_id: str) -> None:
        card_ids = [d["_id"] for d in self.cards.find({"deck_id": deck_id}, {"_id": 1})]
        if card_ids:
            self.reviews.delete_many({"card_id": {"$in": card_ids}})
        self.cards.delete_many({"deck_id": deck_id})
        self.c.delete_one({"_id": deck_id})


def _scope(owner_id: str, course_id: str | None, deck_id: str | None) -> dict[str, Any]:
    query: dict[str, Any] = {"owner_id": owner_id}
    if course_id is not None:
        query["course_id"] = course_id
    if deck_id is not None:
        query["deck_id"] = deck_id
    return query


@store_errors
class MongoCards(_Records):
    model = Card

    def __init__(self, coll: Any, reviews: Any):
        super().__init__(coll)
        self.reviews = reviews

    def add_many(self, cards: Iterable[Card]) -> int:
        docs = [_to_doc(c) for c in cards]
        if not docs:
            return 0
        try:
            return len(self.c.insert_many(docs, ordered=False).inserted_ids)
        except BulkWriteError as exc:  # some ids existed: the others went in
            return int(exc.details.get("nInserted", 0))

    def update(self, card_id: str, **values: Any) -> Card | None:
        if values:
            self._set(card_id, values, CONTENT_FIELDS + ("updated_at",))
        return self.get(card_id)  # type: ignore[no-any-return]

    def set_memory(self, card_id: str, expected_version: int, **memory: Any) -> bool:
        unknown = set(memory) - set(MEMORY_FIELDS)
        if unknown:
            raise ValueError(f"not memory fields: {sorted(unknown)}")
        result = self.c.update_one({"_id": card_id, "version": expected_version},
                                   {"$set": memory, "$inc": {"version": 1}})
        return bool(result.modified_count)

    def delete(self, card_id: str) -> None:
        self.reviews.delete_many({"card_id": card_id})
        self.c.delete_one({"_id": card_id})

    def list_for_deck(self, deck_id: str) -> list[Card]:
        return self._find({"deck_id": deck_id}, [("position", 1), ("created_at", 1), ("_id", 1)])

    def list_for_owner(self, owner_id: str, course_id: str | None = None) -> list[Card]:
        return self._find(_scope(owner_id, course_id, None),
                          [("deck_id", 1), ("position", 1), ("created_at", 1), ("_id", 1)])

    def _due(self, owner_id: str, until: float, now: float, course_id: str | None,
             deck_id: str | None) -> dict[str, Any]:
        return {**_scope(owner_id, course_id, deck_id), "reps": {"$gt": 0}, "due": {"$lte": until},
                "suspended": False, "buried_until": {"$lte": now}}

    def _new(self, owner_id: str, now: float, course_id: str | None, deck_id: str | None) -> dict[str, Any]:
        return {**_scope(owner_id, course_id, deck_id), "reps": 0, "suspended": False,
                "buried_until": {"$lte": now}}

    def list_due(self, owner_id: str, until: float, now: float, course_id: str | None = None,
                 deck_id: str | None = None, limit: int = 1000) -> list[Card]:
        return self._find(self._due(owner_id, until, now, course_id, deck_id), [("due", 1), ("_id", 1)], limit)

    def list_new(self, owner_id: str, now: float, course_id: str | None = None,
                 deck_id: str | None = None, limit: int = 1000) -> list[Card]:
        return self._find(self._new(owner_id, now, course_id, deck_id),
                          [("created_at", 1), ("position", 1), ("_id", 1)], limit)

    def list_new_per_deck(self, owner_id: str, now: float, per_deck: int, limit: int) -> list[Card]:
        """As on SQLite; deck by deck here."""
        cards: list[Card] = []
        decks = self.c.database["decks"].find({"owner_id": owner_id}, {"_id": 1}).sort([("created_at", 1), ("_id", 1)])
        for deck in decks:
            room = limit - len(cards)
            if room <= 0 or per_deck <= 0:
                break
            cards += self.list_new(owner_id, now, deck_id=deck["_id"], limit=min(room, per_deck))
        return cards

    def count_due(self, owner_id: str, until: float, now: float, course_id: str | None = None,
                  deck_id: str | None = None, learning_until: float | None = None) -> int:
        query = self._due(owner_id, until, now, course_id, deck_id)
        if learning_until is not None:
            query["$or"] = [{"state": 2, "due": {"$lt": until}},
                            {"state": {"$ne": 2}, "due": {"$lte": learning_until}}]
        return self._count(query)

    def count_new(self, owner_id: str, now: float, course_id: str | None = None,
                  deck_id: str | None = None) -> int:
        return self._count(self._new(owner_id, now, course_id, deck_id))

    def count_introduced(self, owner_id: str, since: float) -> int:
        return self._count({"owner_id": owner_id, "reps": {"$gt": 0}, "introduced_at": {"$gte": since}})

    def count_for_deck(self, deck_id: str) -> int:
        return self._count({"deck_id": deck_id})


@store_errors
class MongoReviews(_Records):
    model = Review

    def get_by_mark(self, owner_id: str, mark_id: str) -> Review | None:
        return _load(Review, self.c.find_one({"owner_id": owner_id, "mark_id": mark_id}))

    def for_card(self, card_id: str) -> list[Review]:
        return self._find({"card_id": card_id}, [("reviewed_at", 1), ("mark_id", 1)])

    def set_undone(self, review_id: str, undone: bool) -> None:
        self._set(review_id, {"undone": undone}, ("undone",))

    def list_for_owner(self, owner_id: str, since: float = 0.0) -> list[Review]:
        return self._find({"owner_id": owner_id, "reviewed_at": {"$gte": since}, "undone": False},
                          [("reviewed_at", 1), ("mark_id", 1)])

    def count_for_owner(self, owner_id: str) -> int:
        return self._count({"owner_id": owner_id, "undone": False})
