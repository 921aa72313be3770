"""SQLite connections (one per thread), transactions, and rows read into and written from models."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import MISSING, asdict, fields
from typing import Any, Iterable, Mapping, TypeVar

from ..perthread import PerThread
from .base import DuplicateError, StorageFull, StoreError, is_storage_full
from .sqlite_version import DataVersion

T = TypeVar("T")

_JSON_FIELDS = {"params", "content", "data", "detail"}
_BOOL_FIELDS = {"is_admin", "disabled", "email_verified", "remember"}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    return names


def _row_to(cls: type[T], row: sqlite3.Row | Mapping[str, Any] | None) -> T | None:
    if row is None:
        return None
    values: dict[str, Any] = {}
    columns = set(row.keys())
    for name in _field_names(cls):
        if name not in columns:  # a column a later migration adds: the field's default
            continue
        value = row[name]
        if name in _JSON_FIELDS:
            value = json.loads(value) if value != "{}" else {}
        elif name in _BOOL_FIELDS:
            value = bool(value)
        values[name] = value
    return cls(**values)


def _to_row(obj: Any) -> dict[str, Any]:
    row = asdict(obj)
    for key in _JSON_FIELDS & row.keys():
        row[key] = json.dumps(row[key], ensure_ascii=False)
    for key in _BOOL_FIELDS & row.keys():
        row[key] = int(row[key])
    return row


def _field_default(cls: type, name: str) -> Any:
    for f in fields(cls):
        if f.name == name:
            if f.default is not MISSING:
                return f.default
            if f.default_factory is not MISSING:
                return f.default_factory()
    return MISSING


def _q(name: str) -> str:
    return f'"{name}"'


def _close(conn: sqlite3.Connection) -> None:
    try:
        conn.close()
    except sqlite3.Error:
        pass


class _Db:
    """One connection per thread (closed when its thread ends), all to the same file."""

    def __init__(self, path: str, busy_timeout_ms: int):
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._connections = PerThread(self._connect, _close)
        self._lock = threading.Lock()
        self._version: DataVersion | None = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None,
            check_same_thread=False,
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def conn(self) -> sqlite3.Connection:
        return self._connections.get()

    def open_connections(self) -> int:
        return self._connections.count()

    def execute(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        try:
            return self.conn().execute(sql, params)  # type: ignore[arg-type]
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise DuplicateError(str(exc)) from exc
            raise StoreError(str(exc)) from exc
        except sqlite3.Error as exc:
            raise (StorageFull if is_storage_full(exc) else StoreError)(str(exc)) from exc

    def transaction(self) -> "_Tx":
        return _Tx(self)

    def data_version(self) -> bytes | None:
        """What the database's wal-index says of the last commit (sqlite_version.DataVersion);
        None inside this thread's open transaction, whose own writes it does not show."""
        if self.conn().in_transaction:
            return None
        version = self._version
        if version is None:
            with self._lock:
                if self._version is None:
                    self._version = DataVersion(self.path)
                version = self._version
        return version.current()

    def close(self) -> None:
        with self._lock:
            if self._version is not None:
                self._version.close()
                self._version = None
        self._connections.close_all()


class _Tx:
    def __init__(self, db: _Db):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        conn = self.db.conn()
        conn.execute("BEGIN IMMEDIATE")
        return conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        conn = self.db.conn()
        if exc_type is None:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error:
                # A commit that fails (the disk is full) leaves nothing half-written behind.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        elif conn.in_transaction:
            conn.execute("ROLLBACK")


class _Table:
    table = ""
    model: type = object

    def __init__(self, db: _Db):
        self.db = db
        self._columns: frozenset[str] | None = None

    def _insert(self, obj: Any) -> Any:
        row = _to_row(obj)
        if self._columns is None:
            self._columns = frozenset(r[1] for r in self.db.execute(f"PRAGMA table_info({self.table})").fetchall())
        for name in row.keys() - self._columns:
            # A database at an older schema (the migration tests fill one through today's
            # repositories) has no column for a newer field: left out while it holds its default.
            if getattr(obj, name) == _field_default(type(obj), name):
                del row[name]
        cols = ", ".join(_q(c) for c in row)
        marks = ", ".join(f":{c}" for c in row)
        self.db.execute(f"INSERT INTO {self.table} ({cols}) VALUES ({marks})", row)
        return obj

    def _one(self, where: str, params: Iterable[Any]) -> Any:
        row = self.db.execute(f"SELECT * FROM {self.table} WHERE {where}", params).fetchone()
        return _row_to(self.model, row)

    def _many(self, where: str, params: Iterable[Any], tail: str = "") -> list[Any]:
        rows = self.db.execute(f"SELECT * FROM {self.table} WHERE {where} {tail}", params)
        return [_row_to(self.model, r) for r in rows.fetchall()]

    def _update(self, id_: str, values: dict[str, Any]) -> Any:
        allowed = {f.name for f in fields(self.model)} - {"id"}  # type: ignore[arg-type]
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"unknown fields for {self.table}: {sorted(unknown)}")
        if values:
            row = {k: (json.dumps(v, ensure_ascii=False) if k in _JSON_FIELDS else v) for k, v in values.items()}
            row = {k: (int(v) if k in _BOOL_FIELDS else v) for k, v in row.items()}
            sets = ", ".join(f"{_q(k)} = :{k}" for k in row)
            row["__id"] = id_
            self.db.execute(f"UPDATE {self.table} SET {sets} WHERE id = :__id", row)
        return self._one("id = ?", (id_,))

    def get(self, id_: str) -> Any:
        return self._one("id = ?", (id_,))
