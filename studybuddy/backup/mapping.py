"""Rows <-> documents, so an archive of one store restores into the other.

The mapping is generic over the schema, by the conventions both stores already follow:

- a SQLite table and its MongoDB collection have the same name;
- a table's single-column primary key is the document's `_id` (a composite key, such as pages',
  leaves MongoDB its own ObjectId, which is not data and is dropped on the way back);
- a TEXT column holding JSON has one of the names a SQLite repository module encodes as JSON
  (`_JSON_FIELDS` or `_JSON` in any `store/sqlite*.py`) or is listed in JSON_COLUMNS below; a
  boolean is stored as an integer under the names in their `_BOOL_FIELDS` or `_BOOL`;
- a field MongoDB keeps only to index by (a lower-cased e-mail, a unique key triple) is derived
  from the others: DERIVED rebuilds it, and it is not a column.

A new table that follows these conventions needs nothing here. A document field that is neither
a column nor derived stops the restore with its name instead of being dropped silently.
"""

from __future__ import annotations

import functools
import importlib
import json
import pkgutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .archive import BackupError

# Columns holding JSON under a name outside _JSON_FIELDS.
JSON_COLUMNS: dict[str, frozenset[str]] = {"monitor_state": frozenset({"value"})}


def _users(doc: dict[str, Any]) -> dict[str, Any]:
    return {"email_lower": str(doc.get("email", "")).strip().lower()}


def _items(doc: dict[str, Any]) -> dict[str, Any]:
    return {"ukey": [doc["kind"], doc["owner_id"], doc["key"]]} if doc.get("key") else {}


# Fields MongoDB derives from the others, by collection (see store/mongo.py).
DERIVED: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"users": _users, "items": _items}
DERIVED_FIELDS: dict[str, frozenset[str]] = {"users": frozenset({"email_lower"}), "items": frozenset({"ukey"})}

_SQLITE_TYPES = (str, int, float, bytes, type(None))


@functools.cache
def _declared(*names: str) -> frozenset[str]:
    """Column names the SQLite repository modules (store/sqlite*.py) declare under `names`."""
    from .. import store

    found: set[str] = set()
    for info in pkgutil.iter_modules(store.__path__):
        if info.name.startswith("sqlite"):
            module = importlib.import_module(f"{store.__name__}.{info.name}")
            for name in names:
                found.update(getattr(module, name, ()))
    return frozenset(found)


@dataclass(frozen=True)
class TableShape:
    name: str
    columns: tuple[str, ...]
    key: str  # the single-column primary key, "" when composite or none
    json: frozenset[str]
    bools: frozenset[str]


# Tables the SQLite store's own triggers keep from the others (a change counter per course): not
# data, so never carried into another engine; a restore into SQLite fills them again as it writes.
DERIVED_TABLES = frozenset({"course_stamps"})


def sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    """The tables that hold data."""
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                        "ORDER BY name").fetchall()
    return [str(r[0]) for r in rows if r[0] not in DERIVED_TABLES]


def table_shape(conn: sqlite3.Connection, table: str) -> TableShape:
    info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    columns = tuple(str(r[1]) for r in info)
    keys = [str(r[1]) for r in info if r[5]]
    cols = frozenset(columns)
    return TableShape(table, columns, keys[0] if len(keys) == 1 else "",
                      (_declared("_JSON_FIELDS", "_JSON") | JSON_COLUMNS.get(table, frozenset())) & cols,
                      _declared("_BOOL_FIELDS", "_BOOL") & cols)


def row_to_doc(shape: TableShape, row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for column, value in zip(shape.columns, row):
        if value is not None and column in shape.json:
            try:
                value = json.loads(value)
            except ValueError:
                raise BackupError(f"table {shape.name}: column {column} is not valid JSON") from None
        elif value is not None and column in shape.bools:
            value = bool(value)
        doc["_id" if column == shape.key else column] = value
    derive = DERIVED.get(shape.name)
    if derive:
        doc.update(derive(doc))
    return doc


def doc_to_row(shape: TableShape, doc: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    derived = DERIVED_FIELDS.get(shape.name, frozenset())
    for field, value in doc.items():
        if field == "_id":
            if shape.key:
                row[shape.key] = value
                continue
            if type(value).__name__ == "ObjectId":
                continue
            raise BackupError(f"collection {shape.name}: its _id values are data, but table {shape.name} "
                              "has no single-column primary key to hold them")
        if field in derived:
            continue
        if field not in shape.columns:
            raise BackupError(f"collection {shape.name}: field {field!r} has no column in the SQLite table; "
                              "restoring it into SQLite would lose it")
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, bool):
            value = int(value)
        elif not isinstance(value, _SQLITE_TYPES):
            raise BackupError(f"collection {shape.name}: field {field!r} holds a {type(value).__name__}, "
                              "which SQLite cannot store")
        row[field] = value
    return row
