"""The embedded store: SQLite (WAL, busy timeout, foreign keys, numbered migrations) + blob files."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import tempfile
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, BinaryIO, Iterable

from .base import CourseStamp, StoreError
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
from .sqlite_cards import SqliteCards, SqliteDecks, SqliteReviews
from .sqlite_db import _Db, _q, _row_to, _Table, _to_row
from .sqlite_jobs import SqliteJobs
from .sqlite_schema import MIGRATIONS, _record_migrations, _statements
from .sqlite_version import ReadCache

log = logging.getLogger(__name__)


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
