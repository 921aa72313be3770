"""Decks, cards and the review log in SQLite (tables made by migration 2 in sqlite_schema.py)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, fields
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Iterable, TypeVar

from .base import StoreError
from .cards import CONTENT_FIELDS, MEMORY_FIELDS, Card, Deck, Review

if TYPE_CHECKING:
    from .sqlite_db import _Db

T = TypeVar("T")

MIGRATION = """
    CREATE TABLE decks (
        id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL,
        course_id TEXT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        source_artifact_id TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX decks_owner ON decks (owner_id, course_id, created_at);
    CREATE TABLE cards (
        id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL,
        course_id TEXT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
        deck_id TEXT NOT NULL REFERENCES decks(id) ON DELETE CASCADE,
        front TEXT NOT NULL,
        back TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        source TEXT NOT NULL DEFAULT '{}',
        position INTEGER NOT NULL DEFAULT 0,
        suspended INTEGER NOT NULL DEFAULT 0,
        buried_until REAL NOT NULL DEFAULT 0,
        state INTEGER NOT NULL DEFAULT 0,
        step INTEGER,
        stability REAL,
        difficulty REAL,
        due REAL NOT NULL DEFAULT 0,
        last_review REAL,
        reps INTEGER NOT NULL DEFAULT 0,
        lapses INTEGER NOT NULL DEFAULT 0,
        introduced_at REAL,
        version INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX cards_deck ON cards (deck_id, position, created_at);
    CREATE INDEX cards_due ON cards (owner_id, due) WHERE reps > 0;
    CREATE INDEX cards_new ON cards (owner_id, created_at) WHERE reps = 0;
    CREATE INDEX cards_introduced ON cards (owner_id, introduced_at);
    CREATE INDEX cards_course ON cards (course_id);
    CREATE TABLE card_reviews (
        id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL,
        card_id TEXT NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
        mark_id TEXT NOT NULL,
        grade INTEGER NOT NULL,
        reviewed_at REAL NOT NULL,
        received_at REAL NOT NULL,
        duration_ms INTEGER NOT NULL DEFAULT 0,
        undone INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX card_reviews_mark ON card_reviews (owner_id, mark_id);
    CREATE INDEX card_reviews_card ON card_reviews (card_id, reviewed_at);
    CREATE INDEX card_reviews_owner ON card_reviews (owner_id, reviewed_at)
"""

_JSON = {"tags", "source"}
_BOOL = {"suspended", "undone"}


def _converters(cls: type) -> tuple[str, list[Any]]:
    """The column list of a record type and, per column, how to turn the stored value back."""
    names = [f.name for f in fields(cls)]
    convert: list[Any] = [_from_json if n in _JSON else bool if n in _BOOL else None for n in names]
    return ", ".join(names), convert


def _from_json(value: str) -> Any:
    if value == "[]":
        return []
    if value == "{}":
        return {}
    return json.loads(value)


def _load(cls: type[T], row: Any, convert: list[Any]) -> T | None:
    if row is None:
        return None
    return cls(*[c(v) if c is not None else v for c, v in zip(convert, row)])


def _dump(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for key in _JSON & out.keys():
        out[key] = json.dumps(out[key], ensure_ascii=False)
    for key in _BOOL & out.keys():
        out[key] = int(out[key])
    return out


# Decks gathered per query: SQLite allows 500 terms in a compound SELECT.
_DECKS_PER_QUERY = 200


class _Records:
    table = ""
    model: type = object

    def __init__(self, db: _Db):
        self.db = db
        self._cols = [f.name for f in fields(self.model)]  # type: ignore[arg-type]
        self._insert_sql = (f"INSERT INTO {self.table} ({', '.join(self._cols)}) "
                            f"VALUES ({', '.join(':' + c for c in self._cols)})")
        self._select, self._convert = _converters(self.model)

    def _many(self, where: str, params: Iterable[Any], tail: str = "") -> list[Any]:
        rows = self.db.execute(f"SELECT {self._select} FROM {self.table} WHERE {where} {tail}", params).fetchall()
        return [_load(self.model, r, self._convert) for r in rows]

    def _one(self, where: str, params: Iterable[Any]) -> Any:
        row = self.db.execute(f"SELECT {self._select} FROM {self.table} WHERE {where}", params).fetchone()
        return _load(self.model, row, self._convert)

    def _count(self, where: str, params: Iterable[Any]) -> int:
        return int(self.db.execute(f"SELECT COUNT(*) FROM {self.table} WHERE {where}", params).fetchone()[0])

    def _set(self, id_: str, values: dict[str, Any], allowed: Iterable[str]) -> None:
        unknown = set(values) - set(allowed)
        if unknown:
            raise ValueError(f"unknown fields for {self.table}: {sorted(unknown)}")
        row = _dump(values)
        sets = ", ".join(f"{k} = :{k}" for k in row)
        row["__id"] = id_
        self.db.execute(f"UPDATE {self.table} SET {sets} WHERE id = :__id", row)

    def add(self, record: Any) -> Any:
        self.db.execute(self._insert_sql, _dump(asdict(record)))
        return record

    def get(self, id_: str) -> Any:
        return self._one("id = ?", (id_,))


class SqliteDecks(_Records):
    table, model = "decks", Deck

    def list_for_owner(self, owner_id: str, course_id: str | None = None) -> list[Deck]:
        if course_id is None:
            return self._many("owner_id = ?", (owner_id,), "ORDER BY created_at, id")
        return self._many("owner_id = ? AND course_id = ?", (owner_id, course_id), "ORDER BY created_at, id")

    def update(self, deck_id: str, **values: Any) -> Deck | None:
        if values:
            self._set(deck_id, values, ("name", "course_id", "updated_at"))
        return self.get(deck_id)  # type: ignore[no-any-return]

    def delete(self, deck_id: str) -> None:
        self.db.execute("DELETE FROM decks WHERE id = ?", (deck_id,))  # cards and log: ON DELETE CASCADE


def _scope(owner_id: str, course_id: str | None, deck_id: str | None) -> tuple[str, list[Any]]:
    where, params = ["owner_id = ?"], [owner_id]
    if course_id is not None:
        where.append("course_id = ?")
        params.append(course_id)
    if deck_id is not None:
        where.append("deck_id = ?")
        params.append(deck_id)
    return " AND ".join(where), params


# New cards in deck order: the tail of list_new, and the same order as a sort key of a row that
# begins with its term number (list_new_per_deck).
_NEW_ORDER = "ORDER BY created_at, position, id"
_NEW_ROW_ORDER = itemgetter(0, *(1 + [f.name for f in fields(Card)].index(name)
                                 for name in ("created_at", "position", "id")))


class SqliteCards(_Records):
    table, model = "cards", Card

    def add_many(self, cards: Iterable[Card]) -> int:
        rows = [_dump(asdict(c)) for c in cards]
        if not rows:
            return 0
        sql = self._insert_sql.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
        with self.db.transaction() as conn:
            before = conn.total_changes
            try:
                conn.executemany(sql, rows)
            except sqlite3.Error as exc:
                raise StoreError(str(exc)) from exc
            return conn.total_changes - before

    def update(self, card_id: str, **values: Any) -> Card | None:
        if values:
            self._set(card_id, values, CONTENT_FIELDS + ("updated_at",))
        return self.get(card_id)  # type: ignore[no-any-return]

    def set_memory(self, card_id: str, expected_version: int, **memory: Any) -> bool:
        unknown = set(memory) - set(MEMORY_FIELDS)
        if unknown:
            raise ValueError(f"not memory fields: {sorted(unknown)}")
        sets = ", ".join(f"{k} = :{k}" for k in memory)
        params = {**memory, "__id": card_id, "__version": expected_version}
        cursor = self.db.execute(
            f"UPDATE cards SET {sets}, version = version + 1 WHERE id = :__id AND version = :__version", params)
        return cursor.rowcount == 1

    def delete(self, card_id: str) -> None:
        self.db.execute("DELETE FROM cards WHERE id = ?", (card_id,))

    def list_for_deck(self, deck_id: str) -> list[Card]:
        return self._many("deck_id = ?", (deck_id,), "ORDER BY position, created_at, id")

    def list_for_owner(self, owner_id: str, course_id: str | None = None) -> list[Card]:
        where, params = _scope(owner_id, course_id, None)
        return self._many(where, params, "ORDER BY deck_id, position, created_at, id")

    def _due_where(self, owner_id: str, until: float, now: float, course_id: str | None,
                   deck_id: str | None) -> tuple[str, list[Any]]:
        where, params = _scope(owner_id, course_id, deck_id)
        return where + " AND reps > 0 AND due <= ? AND suspended = 0 AND buried_until <= ?", params + [until, now]

    def _new_where(self, owner_id: str, now: float, course_id: str | None,
                   deck_id: str | None) -> tuple[str, list[Any]]:
        where, params = _scope(owner_id, course_id, deck_id)
        return where + " AND reps = 0 AND suspended = 0 AND buried_until <= ?", params + [now]

    def list_due(self, owner_id: str, until: float, now: float, course_id: str | None = None,
                 deck_id: str | None = None, limit: int = 1000) -> list[Card]:
        where, params = self._due_where(owner_id, until, now, course_id, deck_id)
        return self._many(where, params, f"ORDER BY due, id LIMIT {int(limit)}")

    def list_new(self, owner_id: str, now: float, course_id: str | None = None,
                 deck_id: str | None = None, limit: int = 1000) -> list[Card]:
        where, params = self._new_where(owner_id, now, course_id, deck_id)
        return self._many(where, params, f"{_NEW_ORDER} LIMIT {int(limit)}")

    def list_new_per_deck(self, owner_id: str, now: float, per_deck: int, limit: int) -> list[Card]:
        """Up to `per_deck` new cards of each of the student's decks, decks in their order (as
        decks.list_for_owner), at most `limit` in all: what list_new deck by deck gives, in one
        query per few hundred decks. Each deck is its own term with its own LIMIT, so each walks
        its index only as far as it needs (one window over all the student's new cards sorted them
        all: 30 times slower for 40,000 of them)."""
        if per_deck <= 0 or limit <= 0:
            return []
        decks = [r[0] for r in self.db.execute("SELECT id FROM decks WHERE owner_id = ? ORDER BY created_at, id",
                                               (owner_id,)).fetchall()]
        cards: list[Card] = []
        for start in range(0, len(decks), _DECKS_PER_QUERY):
            terms, params = [], []
            for n, deck_id in enumerate(decks[start:start + _DECKS_PER_QUERY]):
                where, values = self._new_where(owner_id, now, None, deck_id)
                terms.append(f"SELECT * FROM (SELECT {n} AS term, {self._select} FROM cards WHERE {where} "
                             f"{_NEW_ORDER} LIMIT ?)")
                params += [*values, int(per_deck)]
            rows = self.db.execute(" UNION ALL ".join(terms), params).fetchall()
            # Sorted here, not by SQLite: a sort of whole rows there costs more than the queries.
            rows.sort(key=_NEW_ROW_ORDER)
            cards += [_load(Card, r[1:], self._convert) for r in rows[:limit - len(cards)]]  # type: ignore[misc]
            if len(cards) >= limit:
                break
        return cards

    def count_due(self, owner_id: str, until: float, now: float, course_id: str | None = None,
                  deck_id: str | None = None, learning_until: float | None = None) -> int:
        where, params = self._due_where(owner_id, until, now, course_id, deck_id)
        if learning_until is not None:
            where += " AND ((state = 2 AND due < ?) OR (state != 2 AND due <= ?))"
            params += [until, learning_until]
        return self._count(where, params)

    def count_new(self, owner_id: str, now: float, course_id: str | None = None,
                  deck_id: str | None = None) -> int:
        return self._count(*self._new_where(owner_id, now, course_id, deck_id))

    def count_introduced(self, owner_id: str, since: float) -> int:
        return self._count("owner_id = ? AND reps > 0 AND introduced_at >= ?", (owner_id, since))

    def count_for_deck(self, deck_id: str) -> int:
        return self._count("deck_id = ?", (deck_id,))


class SqliteReviews(_Records):
    table, model = "card_reviews", Review

    def get_by_mark(self, owner_id: str, mark_id: str) -> Review | None:
        return self._one("owner_id = ? AND mark_id = ?", (owner_id, mark_id))  # type: ignore[no-any-return]

    def for_card(self, card_id: str) -> list[Review]:
        return self._many("card_id = ?", (card_id,), "ORDER BY reviewed_at, mark_id")

    def set_undone(self, review_id: str, undone: bool) -> None:
        self.db.execute("UPDATE card_reviews SET undone = ? WHERE id = ?", (int(undone), review_id))

    def list_for_owner(self, owner_id: str, since: float = 0.0) -> list[Review]:
        return self._many("owner_id = ? AND reviewed_at >= ? AND undone = 0", (owner_id, since),
                          "ORDER BY reviewed_at, mark_id")

    def count_for_owner(self, owner_id: str) -> int:
        return self._count("owner_id = ? AND undone = 0", (owner_id,))
