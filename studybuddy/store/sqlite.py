"""The embedded store: SQLite (WAL, busy timeout, foreign keys, numbered migrations) + blob files."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
from dataclasses import MISSING, asdict, fields, replace
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Mapping, TypeVar

from .base import CourseStamp, DuplicateError, StorageFull, StoreError, is_storage_full
from .models import (
    Artifact,
    Chunk,
    Course,
    Document,
    Item,
    Job,
    MonitorEvent,
    Page,
    User,
    new_id,
)
from .sqlite_cards import MIGRATION as CARDS_MIGRATION
from .sqlite_cards import SqliteCards, SqliteDecks, SqliteReviews
from .sqlite_version import DataVersion, ReadCache

log = logging.getLogger(__name__)

T = TypeVar("T")

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        display_name TEXT NOT NULL DEFAULT '',
        is_admin INTEGER NOT NULL DEFAULT 0,
        language TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    );
    CREATE UNIQUE INDEX users_email ON users (email COLLATE NOCASE);
    CREATE TABLE courses (
        id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX courses_owner ON courses (owner_id);
    CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        course_id TEXT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
        owner_id TEXT NOT NULL,
        display_name TEXT NOT NULL,
        blob_id TEXT NOT NULL DEFAULT '',
        mime TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL DEFAULT '',
        size INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'uploaded',
        error TEXT NOT NULL DEFAULT '',
        page_count INTEGER NOT NULL DEFAULT 0,
        job_id TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    );
    CREATE INDEX documents_course ON documents (course_id);
    CREATE TABLE pages (
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (document_id, number)
    );
    CREATE TABLE chunks (
        id TEXT PRIMARY KEY,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        course_id TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        page INTEGER NOT NULL,
        text TEXT NOT NULL,
        search_text TEXT NOT NULL,
        start INTEGER NOT NULL DEFAULT 0,
        "end" INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX chunks_document ON chunks (document_id, ordinal);
    CREATE INDEX chunks_course ON chunks (course_id);
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        queue TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        course_id TEXT NOT NULL DEFAULT '',
        document_id TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL DEFAULT 4,
        lease_expires_at REAL,
        lease_owner TEXT NOT NULL DEFAULT '',
        not_before REAL NOT NULL DEFAULT 0,
        dispatched_at REAL,
        progress INTEGER NOT NULL DEFAULT 0,
        stage TEXT NOT NULL DEFAULT '',
        error_user TEXT NOT NULL DEFAULT '',
        error_internal TEXT NOT NULL DEFAULT '',
        result_ref TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL
    );
    CREATE INDEX jobs_state ON jobs (state, dispatched_at);
    CREATE INDEX jobs_owner ON jobs (owner_id, created_at);
    CREATE INDEX jobs_course ON jobs (course_id);
    CREATE TABLE artifacts (
        id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL,
        course_id TEXT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
        document_id TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        content TEXT NOT NULL,
        job_id TEXT NOT NULL DEFAULT '',
        provider TEXT NOT NULL DEFAULT '',
        model TEXT NOT NULL DEFAULT '',
        latency_ms INTEGER NOT NULL DEFAULT 0,
        tokens_in INTEGER NOT NULL DEFAULT 0,
        tokens_out INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE INDEX artifacts_course ON artifacts (course_id, kind, created_at);
    CREATE INDEX artifacts_document ON artifacts (document_id);
    CREATE TABLE items (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        course_id TEXT NOT NULL DEFAULT '',
        parent_id TEXT NOT NULL DEFAULT '',
        key TEXT NOT NULL DEFAULT '',
        data TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE UNIQUE INDEX items_key ON items (kind, owner_id, key) WHERE key != '';
    CREATE INDEX items_find ON items (kind, owner_id, course_id, parent_id, created_at);
    CREATE INDEX items_course ON items (course_id);
    CREATE TABLE counters (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    CREATE TABLE monitor_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE monitor_events (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        "check" TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX monitor_events_time ON monitor_events (created_at);
    """,
    # 2: decks, cards with their FSRS memory state, and the review log (flashcard sets made before
    # this become decks, and their old marks review-log entries, when their owner next opens review)
    CARDS_MIGRATION,
    # 3: chunk vectors for hybrid retrieval (store/sqlite_vectors.py), kept in the chunk's row
    """
    ALTER TABLE chunks ADD COLUMN vector BLOB;
    ALTER TABLE chunks ADD COLUMN vector_model TEXT NOT NULL DEFAULT '';
    """,
    # 4: a record of every migration applied from now on: when, and by which version
    """
    CREATE TABLE schema_migrations (
        version INTEGER PRIMARY KEY,
        applied_at REAL NOT NULL,
        app_version TEXT NOT NULL DEFAULT ''
    );
    """,
    # 5: documents.content_hash: a file uploaded twice into one course is recognised;
    # documents.outline: the headings found at ingest, for the course page
    """
    ALTER TABLE documents ADD COLUMN content_hash TEXT NOT NULL DEFAULT '';
    ALTER TABLE documents ADD COLUMN outline TEXT NOT NULL DEFAULT '';
    CREATE INDEX documents_content_hash ON documents (course_id, content_hash);
    """,
    # 6: accounts: session versions, disabled and verified flags; server-side sessions, login
    # throttling, single-use link tokens and the administrators' audit log
    """
    ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        expires_at REAL NOT NULL,
        remember INTEGER NOT NULL DEFAULT 0,
        device TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        last_seen_at REAL NOT NULL
    );
    CREATE INDEX sessions_user ON sessions (user_id, created_at);
    CREATE INDEX sessions_expiry ON sessions (expires_at);
    CREATE TABLE login_throttle (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL DEFAULT 0,
        first_at REAL NOT NULL DEFAULT 0,
        locked_until REAL NOT NULL DEFAULT 0
    );
    CREATE TABLE account_tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        purpose TEXT NOT NULL,
        expires_at REAL NOT NULL,
        used_at REAL,
        created_at REAL NOT NULL
    );
    CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
    CREATE TABLE audit_log (
        id TEXT PRIMARY KEY,
        actor_id TEXT NOT NULL,
        action TEXT NOT NULL,
        target_id TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL
    );
    CREATE INDEX audit_log_time ON audit_log (created_at);
    """,
    # 7: jobs.lease_token: each claim's fencing token; a worker that lost its lease can no longer
    # write progress, heartbeats or a result
    """
    ALTER TABLE jobs ADD COLUMN lease_token TEXT NOT NULL DEFAULT '';
    """,
    # 8: course_stamps: a counter per course that every write to its documents, jobs, results and
    # items moves (triggers, so no writer can forget), for the web's page cache; a course that is
    # gone keeps no counter. Jobs found by course and state, so "is anything under way here?"
    # reads the index alone
    """
    CREATE TABLE course_stamps (
        course_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL
    ) WITHOUT ROWID;
    DROP INDEX jobs_course;
    CREATE INDEX jobs_course_state ON jobs (course_id, state);
    """ + "".join(
        f"""
    CREATE TRIGGER {table}_{event.lower()}_stamp AFTER {event} ON {table} WHEN {row}.{column} != '' BEGIN
        INSERT INTO course_stamps (course_id, version) SELECT id, 1 FROM courses WHERE id = {row}.{column}
            ON CONFLICT (course_id) DO UPDATE SET version = version + 1;
    END;
    """
        for table, column in (("documents", "course_id"), ("jobs", "course_id"), ("artifacts", "course_id"),
                              ("items", "course_id"), ("courses", "id"))
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
        if not (table == "courses" and event == "DELETE")) + """
    CREATE TRIGGER courses_delete_stamp AFTER DELETE ON courses BEGIN
        DELETE FROM course_stamps WHERE course_id = OLD.id;
    END;
    """,
]

DEAD_MESSAGE = "This task failed too many times. Please try again later."

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


class _Db:
    """One connection per thread, all to the same file."""

    def __init__(self, path: str, busy_timeout_ms: int):
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._version: DataVersion | None = None

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

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
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()


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


class SqliteUsers(_Table):
    table, model = "users", User

    # Columns added by the accounts migration, with their defaults.
    _LATER_COLUMNS = {"session_version": 0, "disabled": 0, "email_verified": 0}

    def add(self, user: User) -> User:
        row = _to_row(user)
        # Left to the column defaults when they hold them, so that a database still at an older
        # schema (the migration tests, a restore before migrating) takes new accounts too.
        for column, default in self._LATER_COLUMNS.items():
            if row[column] == default:
                del row[column]
        cols = ", ".join(_q(c) for c in row)
        self.db.execute(f"INSERT INTO users ({cols}) VALUES ({', '.join(':' + c for c in row)})", row)
        return user

    def get_by_email(self, email: str) -> User | None:
        return self._one("email = ? COLLATE NOCASE", (email.strip(),))  # type: ignore[no-any-return]

    def update(self, user_id: str, **values: Any) -> User | None:
        return self._update(user_id, values)  # type: ignore[no-any-return]

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM users").fetchone()[0])

    def list(self) -> list[User]:
        return self._many("1", (), "ORDER BY created_at")


class SqliteCourses(_Table):
    table, model = "courses", Course

    def add(self, course: Course) -> Course:
        return self._insert(course)  # type: ignore[no-any-return]

    def list_for_owner(self, owner_id: str) -> list[Course]:
        return self._many("owner_id = ?", (owner_id,), "ORDER BY created_at DESC")

    def update(self, course_id: str, **values: Any) -> Course | None:
        return self._update(course_id, values)  # type: ignore[no-any-return]

    def __init__(self, db: _Db):
        super().__init__(db)
        # A course page asks for this on every request; kept until the next commit.
        self._stamped: ReadCache[tuple[Course, CourseStamp] | None] = ReadCache(db.data_version)

    def get_stamped(self, course_id: str) -> tuple[Course, CourseStamp] | None:
        return self._stamped.get(course_id, lambda: self._read_stamped(course_id))

    def _read_stamped(self, course_id: str) -> tuple[Course, CourseStamp] | None:
        row = self.db.execute(
            "SELECT c.*, (SELECT version FROM course_stamps WHERE course_id = c.id) AS stamp_version, "
            "EXISTS (SELECT 1 FROM jobs WHERE course_id = c.id AND state IN ('queued', 'running')) AS stamp_busy "
            "FROM courses c WHERE c.id = ?", (course_id,)).fetchone()
        course = _row_to(Course, row)
        if course is None:
            return None
        return course, CourseStamp(int(row["stamp_version"] or 0), bool(row["stamp_busy"]))


class SqliteDocuments(_Table):
    table, model = "documents", Document

    def add(self, document: Document) -> Document:
        return self._insert(document)  # type: ignore[no-any-return]

    def list_for_course(self, course_id: str) -> list[Document]:
        return self._many("course_id = ?", (course_id,), "ORDER BY created_at")

    def update(self, document_id: str, **values: Any) -> Document | None:
        return self._update(document_id, values)  # type: ignore[no-any-return]

    def add_with_job(self, document: Document, job: Job) -> Document:
        document = replace(document, job_id=job.id)
        with self.db.transaction():
            self._insert(document)
            SqliteJobs(self.db).add(job)
        return document

    def find_by_hash(self, course_id: str, content_hash: str) -> Document | None:
        if not content_hash:
            return None
        found = self._many("course_id = ? AND content_hash = ? AND status != 'failed'", (course_id, content_hash),
                           "ORDER BY created_at LIMIT 1")
        return found[0] if found else None


class SqlitePages(_Table):
    table, model = "pages", Page

    def replace_for_document(self, document_id: str, pages: Iterable[Page]) -> None:
        rows = [(p.document_id, p.number, p.text) for p in pages]
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM pages WHERE document_id = ?", (document_id,))
            conn.executemany("INSERT INTO pages (document_id, number, text) VALUES (?, ?, ?)", rows)

    def list_for_document(self, document_id: str) -> list[Page]:
        return self._many("document_id = ?", (document_id,), "ORDER BY number")

    def get(self, document_id: str, number: int) -> Page | None:  # type: ignore[override]
        return self._one("document_id = ? AND number = ?", (document_id, number))  # type: ignore[no-any-return]


class SqliteChunks(_Table):
    table, model = "chunks", Chunk

    def replace_for_document(self, document_id: str, chunks: Iterable[Chunk]) -> None:
        cols = [f.name for f in fields(Chunk)]
        # A chunk has no JSON or boolean fields: its values go in as they are (asdict would copy each).
        rows = [tuple(getattr(c, name) for name in cols) for c in chunks]
        sql = f"INSERT INTO chunks ({', '.join(_q(c) for c in cols)}) VALUES ({', '.join('?' for _ in cols)})"
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
            conn.executemany(sql, rows)

    def list_for_document(self, document_id: str) -> list[Chunk]:
        return self._many("document_id = ?", (document_id,), "ORDER BY ordinal")

    def list_for_course(self, course_id: str) -> list[Chunk]:
        return self._many("course_id = ?", (course_id,), "ORDER BY document_id, ordinal")

    def count_for_course(self, course_id: str) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM chunks WHERE course_id = ?", (course_id,))
        return int(row.fetchone()[0])


class SqliteJobs(_Table):
    table, model = "jobs", Job

    def add(self, job: Job) -> Job:
        return self._insert(job)  # type: ignore[no-any-return]

    def _change(self, sql: str, params: Iterable[Any]) -> bool:
        return self.db.execute(f"UPDATE jobs SET {sql}", params).rowcount == 1

    def claim(self, job_id: str, worker: str, lease_seconds: float, now: float) -> Job | None:
        row = self.db.execute(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_token = ?, "
            "lease_expires_at = ?, started_at = ?, updated_at = ?, progress = 0, stage = '' "
            "WHERE id = ? AND attempts < max_attempts AND ((state = 'queued' AND not_before <= ?) "
            "OR (state = 'running' AND lease_expires_at < ?)) RETURNING *",
            (worker, new_id(), now + lease_seconds, now, now, job_id, now, now),
        ).fetchone()
        return _row_to(Job, row)

    def _fenced(self, sql: str, job_id: str, token: str, params: Iterable[Any]) -> bool:
        """One UPDATE of a running job that only the holder of its lease token may make."""
        if not token:
            return False
        return self._change(f"{sql} WHERE id = ? AND state = 'running' AND lease_token = ?",
                            (*params, job_id, token))

    def heartbeat(self, job_id: str, token: str, lease_seconds: float, now: float) -> bool:
        return self._fenced("lease_expires_at = ?, updated_at = ?", job_id, token, (now + lease_seconds, now))

    def set_progress(self, job_id: str, token: str, percent: int, stage: str, now: float) -> bool:
        return self._fenced("progress = ?, stage = ?, updated_at = ?", job_id, token,
                            (max(0, min(100, int(percent))), stage, now))

    def finish(
        self,
        job_id: str,
        token: str,
        state: str,
        now: float,
        *,
        result_ref: str = "",
        error_user: str = "",
        error_internal: str = "",
    ) -> bool:
        progress = 100 if state == "succeeded" else None
        return self._fenced(
            "state = ?, result_ref = ?, error_user = ?, error_internal = ?, finished_at = ?, "
            "updated_at = ?, lease_expires_at = NULL, lease_token = '', progress = COALESCE(?, progress)",
            job_id, token, (state, result_ref, error_user, error_internal, now, now, progress),
        )

    def retry_later(
        self, job_id: str, token: str, not_before: float, error_internal: str, now: float
    ) -> bool:
        return self._fenced(
            "state = 'queued', not_before = ?, dispatched_at = NULL, lease_owner = '', lease_token = '', "
            "lease_expires_at = NULL, error_internal = ?, updated_at = ?",
            job_id, token, (not_before, error_internal, now),
        )

    def release(self, job_id: str, token: str, now: float) -> bool:
        return self._fenced(
            "state = 'queued', attempts = MAX(attempts - 1, 0), dispatched_at = NULL, "
            "lease_owner = '', lease_token = '', lease_expires_at = NULL, updated_at = ?",
            job_id, token, (now,),
        )

    def mark_dispatched(self, job_id: str, now: float) -> bool:
        return self._change(
            "dispatched_at = ? WHERE id = ? AND state = 'queued' AND dispatched_at IS NULL",
            (now, job_id),
        )

    def unmark_dispatched(self, job_id: str) -> None:
        self.db.execute("UPDATE jobs SET dispatched_at = NULL WHERE id = ?", (job_id,))

    def due_for_dispatch(self, now: float, redispatch_before: float, limit: int = 100) -> list[Job]:
        return self._many(
            "state = 'queued' AND not_before <= ? AND attempts < max_attempts "
            "AND (dispatched_at IS NULL OR dispatched_at < ?)",
            (now, redispatch_before),
            f"ORDER BY created_at LIMIT {int(limit)}",
        )

    def requeue_expired(self, now: float, limit: int = 100) -> list[Job]:
        rows = self.db.execute(
            "UPDATE jobs SET state = 'queued', lease_owner = '', lease_token = '', lease_expires_at = NULL, "
            "dispatched_at = NULL, updated_at = ? "
            "WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < ? "
            f"LIMIT {int(limit)}) RETURNING *",
            (now, now),
        ).fetchall()
        return [_row_to(Job, r) for r in rows]  # type: ignore[misc]

    def bury_exhausted(self, now: float) -> list[Job]:
        rows = self.db.execute(
            "UPDATE jobs SET state = 'dead', finished_at = ?, updated_at = ?, "
            "error_user = CASE WHEN error_user = '' THEN ? ELSE error_user END "
            "WHERE state = 'queued' AND attempts >= max_attempts RETURNING *",
            (now, now, DEAD_MESSAGE),
        ).fetchall()
        return [_row_to(Job, r) for r in rows]  # type: ignore[misc]

    def list_for_owner(self, owner_id: str, course_id: str | None = None, limit: int = 50) -> list[Job]:
        if course_id is None:
            return self._many("owner_id = ?", (owner_id,), f"ORDER BY created_at DESC LIMIT {int(limit)}")
        return self._many(
            "owner_id = ? AND course_id = ?", (owner_id, course_id),
            f"ORDER BY created_at DESC LIMIT {int(limit)}",
        )

    def count_by_state(self) -> dict[str, int]:
        rows = self.db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def delete(self, job_id: str) -> None:
        self.db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def cancel(self, job_id: str, owner_id: str, now: float) -> Job | None:
        """A student's cancel: a queued or running job of theirs becomes `cancelled`. A worker still
        running it loses the job (its progress and result are no longer accepted)."""
        row = self.db.execute(
            "UPDATE jobs SET state = 'cancelled', finished_at = ?, updated_at = ?, lease_owner = '', "
            "lease_token = '', lease_expires_at = NULL "
            "WHERE id = ? AND owner_id = ? AND state IN ('queued', 'running') RETURNING *",
            (now, now, job_id, owner_id)).fetchone()
        return _row_to(Job, row)

    def count_ahead(self, job: Job) -> int:
        """Jobs of the same queue that came earlier and are still waiting or running."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM jobs WHERE queue = ? AND state IN ('queued', 'running') AND created_at < ? "
            "AND id != ?", (job.queue, job.created_at, job.id)).fetchone()
        return int(row[0])


class SqliteArtifacts(_Table):
    table, model = "artifacts", Artifact

    def add(self, artifact: Artifact) -> Artifact:
        return self._insert(artifact)  # type: ignore[no-any-return]

    def list_for_course(self, course_id: str, kind: str | None = None) -> list[Artifact]:
        if kind is None:
            return self._many("course_id = ?", (course_id,), "ORDER BY created_at DESC")
        return self._many("course_id = ? AND kind = ?", (course_id, kind), "ORDER BY created_at DESC")

    def ids_for_owner(self, owner_id: str, kind: str) -> list[str]:
        rows = self.db.execute(
            "SELECT a.id FROM courses c JOIN artifacts a ON a.course_id = c.id AND a.kind = ? "
            "WHERE c.owner_id = ? AND a.owner_id = ? ORDER BY a.created_at, a.id",
            (kind, owner_id, owner_id)).fetchall()
        return [r[0] for r in rows]

    def update_content(self, artifact_id: str, content: dict[str, Any]) -> Artifact | None:
        return self._update(artifact_id, {"content": content})  # type: ignore[no-any-return]

    def delete(self, artifact_id: str) -> None:
        self.db.execute("DELETE FROM artifacts WHERE id = ?", (artifact_id,))

    def list_recent(self, course_id: str, owner_id: str, kinds: Iterable[str], limit: int = 50) -> list[Artifact]:
        """Newest first, without their content (lists show titles; content is read when opened)."""
        kinds = list(kinds)
        marks = ", ".join("?" for _ in kinds)
        columns = ", ".join(_q(f.name) if f.name != "content" else "'{}' AS content" for f in fields(Artifact))
        rows = self.db.execute(
            f"SELECT {columns} FROM artifacts WHERE course_id = ? AND owner_id = ? AND kind IN ({marks}) "
            f"ORDER BY created_at DESC LIMIT {int(limit)}", (course_id, owner_id, *kinds))
        return [_row_to(Artifact, r) for r in rows.fetchall()]  # type: ignore[misc]

    def rename(self, artifact_id: str, title: str) -> Artifact | None:
        return self._update(artifact_id, {"title": title})  # type: ignore[no-any-return]


class SqliteItems(_Table):
    table, model = "items", Item

    def add(self, item: Item) -> Item:
        return self._insert(item)  # type: ignore[no-any-return]

    def put(self, item: Item) -> Item:
        row = _to_row(item)
        cols = ", ".join(_q(c) for c in row)
        marks = ", ".join(f":{c}" for c in row)
        self.db.execute(f"INSERT OR REPLACE INTO items ({cols}) VALUES ({marks})", row)
        return item

    def get_by_key(self, kind: str, owner_id: str, key: str) -> Item | None:
        return self._one("kind = ? AND owner_id = ? AND key = ?", (kind, owner_id, key))  # type: ignore[no-any-return]

    def find(
        self,
        kind: str,
        owner_id: str | None = None,
        course_id: str | None = None,
        parent_id: str | None = None,
        limit: int = 1000,
    ) -> list[Item]:
        where, params = ["kind = ?"], [kind]
        for col, value in (("owner_id", owner_id), ("course_id", course_id), ("parent_id", parent_id)):
            if value is not None:
                where.append(f"{col} = ?")
                params.append(value)
        return self._many(" AND ".join(where), params, f"ORDER BY created_at, id LIMIT {int(limit)}")

    def delete(self, item_id: str) -> None:
        self.db.execute("DELETE FROM items WHERE id = ?", (item_id,))


class SqliteCounters:
    def __init__(self, db: _Db):
        self.db = db

    def incr(self, key: str, amount: int = 1) -> int:
        row = self.db.execute(
            "INSERT INTO counters (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value RETURNING value",
            (key, amount),
        ).fetchone()
        return int(row[0])

    def get(self, key: str) -> int:
        row = self.db.execute("SELECT value FROM counters WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0


class SqliteMonitor:
    def __init__(self, db: _Db):
        self.db = db

    def get_state(self, key: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT value FROM monitor_state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_state(self, key: str, value: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO monitor_state (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value, ensure_ascii=False)),
        )

    def add_event(self, event: MonitorEvent) -> MonitorEvent:
        self.db.execute(
            'INSERT INTO monitor_events (id, kind, "check", data, created_at) VALUES (?, ?, ?, ?, ?)',
            (event.id, event.kind, event.check, json.dumps(event.data, ensure_ascii=False), event.created_at),
        )
        return event

    def events(self, since: float = 0.0, kind: str | None = None, limit: int = 1000) -> list[MonitorEvent]:
        sql = "SELECT * FROM monitor_events WHERE created_at >= ?"
        params: list[Any] = [since]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        sql += f" ORDER BY created_at, id LIMIT {int(limit)}"
        return [
            MonitorEvent(id=r["id"], kind=r["kind"], check=r["check"], data=json.loads(r["data"]),
                         created_at=r["created_at"])
            for r in self.db.execute(sql, params).fetchall()
        ]


class FileBlobs:
    """Blobs as files under <state_dir>/blobs/<2 hex>/<id>, written atomically."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, blob_id: str) -> Path:
        if not blob_id or not all(c in "0123456789abcdef" for c in blob_id):
            raise KeyError(blob_id)
        return self.root / blob_id[:2] / blob_id

    def put(self, data: bytes | BinaryIO) -> str:
        blob_id = new_id()
        path = self._path(blob_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, (bytes, bytearray)):
                    out.write(data)
                else:
                    for block in iter(lambda: data.read(1 << 20), b""):
                        out.write(block)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return blob_id

    def get(self, blob_id: str) -> bytes:
        try:
            return self._path(blob_id).read_bytes()
        except FileNotFoundError:
            raise KeyError(blob_id) from None

    def exists(self, blob_id: str) -> bool:
        try:
            return self._path(blob_id).is_file()
        except KeyError:
            return False

    def delete(self, blob_id: str) -> None:
        try:
            self._path(blob_id).unlink(missing_ok=True)
        except KeyError:
            pass

    def list_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.glob("*/*") if not p.name.startswith("."))


class SqliteStore:
    """The embedded store."""

    def __init__(self, db_path: str | Path, blob_root: str | Path, busy_timeout_ms: int = 5000):
        self.path = str(db_path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        _create_group_writable(Path(self.path))
        self.db = _Db(self.path, busy_timeout_ms)
        self._migrate()
        self.users = SqliteUsers(self.db)
        self.courses = SqliteCourses(self.db)
        self.documents = SqliteDocuments(self.db)
        self.pages = SqlitePages(self.db)
        self.chunks = SqliteChunks(self.db)
        self.jobs = SqliteJobs(self.db)
        self.artifacts = SqliteArtifacts(self.db)
        self.items = SqliteItems(self.db)
        self.counters = SqliteCounters(self.db)
        self.monitor = SqliteMonitor(self.db)
        self.blobs = FileBlobs(Path(blob_root))
        self.decks = SqliteDecks(self.db)
        self.cards = SqliteCards(self.db)
        self.reviews = SqliteReviews(self.db)
        from .sqlite_vectors import SqliteChunkVectors

        self.vectors = SqliteChunkVectors(self.db)
        from .sqlite_accounts import SqliteAccounts

        self.accounts = SqliteAccounts(self.db, self.blobs)

    def _migrate(self) -> None:
        conn = self.db.conn()
        conn.execute("PRAGMA journal_mode = WAL")
        with self.db.transaction() as tx:
            version = tx.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"the database has schema {version}, newer than this StudyBuddy knows ({len(MIGRATIONS)}): "
                    "install the newer version again, or restore the backup taken before the upgrade")
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                log.info("applying schema migration %d", number)
                try:
                    for statement in _statements(script):
                        tx.execute(statement)
                except sqlite3.Error as exc:
                    # The transaction rolls back: every migration of this run is undone.
                    raise StoreError(f"schema migration {number} failed: {exc}") from exc
                tx.execute(f"PRAGMA user_version = {number}")
            _record_migrations(tx, range(version + 1, len(MIGRATIONS) + 1))

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def ping(self) -> None:
        self.db.execute("SELECT 1").fetchone()

    def _blob_ids_of(self, where: str, params: Iterable[Any]) -> list[str]:
        rows = self.db.execute(f"SELECT blob_id FROM documents WHERE {where}", params).fetchall()
        return [r[0] for r in rows if r[0]]

    def delete_document(self, document_id: str) -> None:
        blobs = self._blob_ids_of("id = ?", (document_id,))
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM artifacts WHERE document_id = ?", (document_id,))
            tx.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        for blob_id in blobs:
            self.blobs.delete(blob_id)

    def delete_course(self, course_id: str) -> None:
        blobs = self._blob_ids_of("course_id = ?", (course_id,))
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM items WHERE course_id = ?", (course_id,))
            tx.execute("DELETE FROM jobs WHERE course_id = ?", (course_id,))
            tx.execute("DELETE FROM courses WHERE id = ?", (course_id,))
        for blob_id in blobs:
            self.blobs.delete(blob_id)

    def close(self) -> None:
        self.db.close()


def _create_group_writable(path: Path) -> None:
    """Create the database 0660, whatever the umask: web, worker and monitor run as different
    users of one group and all open it (SQLite gives the -wal and -shm files the same mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o660)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o660)
    finally:
        os.close(fd)


def _record_migrations(tx: sqlite3.Connection, numbers: range) -> None:
    """Note each migration just applied, in the same transaction, once its table exists (2)."""
    if not numbers or not tx.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone():
        return
    from .. import __version__

    tx.executemany("INSERT OR IGNORE INTO schema_migrations (version, applied_at, app_version) VALUES (?, ?, ?)",
                   [(n, time.time(), __version__) for n in numbers])


def _statements(script: str) -> Iterator[str]:
    """The script's statements one by one; a trigger's body holds semicolons of its own."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending
            pending = ""
    if pending.strip(" \n;"):
        yield pending
