"""Accounts on SQLite: sessions, login throttle, link tokens, audit log, a student's data as a whole."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .account_models import AccountToken, AuditEntry, SessionRecord, ThrottleState
from .models import Job, User
from .sqlite_db import _JSON_FIELDS, _Db, _field_names, _q, _row_to, _Table
from .sqlite_version import ReadCache

if TYPE_CHECKING:
    from .sqlite import FileBlobs

# Tables that hold no user's data, or whose user data is handled on its own (below).
_NOT_OWNED = {"sqlite_sequence", "login_throttle", "monitor_state", "monitor_events", "counters", "audit_log"}
# Columns never exported: secrets, and what only makes sense inside this installation.
_SECRET_COLUMNS = {"password_hash", "lease_owner", "lease_token", "error_internal", "search_text", "vector"}
# Tables whose rows belong to a user through their document, not an owner column.
_BY_DOCUMENT = ("pages", "chunks")


class SqliteSessions(_Table):
    table, model = "sessions", SessionRecord

    def add(self, record: SessionRecord) -> SessionRecord:
        return self._insert(record)  # type: ignore[no-any-return]

    # The account's columns under names of their own ("user.id"), beside the session's.
    _WITH_USER = ("SELECT s.*, " + ", ".join(f"u.{_q(n)} AS {_q('user.' + n)}" for n in _field_names(User))
                  + " FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.id = ?")

    def __init__(self, db: _Db):
        super().__init__(db)
        # Every logged-in request asks for this; kept until the next commit, so a log-out, a
        # disabled account or a new password anywhere is seen by the very next request.
        self._found: ReadCache[tuple[SessionRecord, User | None] | None] = ReadCache(db.data_version)

    def get_with_user(self, session_id: str) -> tuple[SessionRecord, User | None] | None:
        return self._found.get(session_id, lambda: self._read_with_user(session_id))

    def _read_with_user(self, session_id: str) -> tuple[SessionRecord, User | None] | None:
        row = self.db.execute(self._WITH_USER, (session_id,)).fetchone()
        if row is None:
            return None
        record = _row_to(SessionRecord, row)
        assert record is not None
        if row["user.id"] is None:
            return record, None
        return record, _row_to(User, {n: row["user." + n] for n in _field_names(User)})

    def touch(self, session_id: str, when: float) -> None:
        self.db.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", (when, session_id))

    def list_for_user(self, user_id: str) -> list[SessionRecord]:
        return self._many("user_id = ?", (user_id,), "ORDER BY last_seen_at DESC")

    def delete(self, session_id: str) -> None:
        self.db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def delete_for_user(self, user_id: str, keep: str = "") -> int:
        cur = self.db.execute("DELETE FROM sessions WHERE user_id = ? AND id != ?", (user_id, keep))
        return int(cur.rowcount)

    def delete_expired(self, when: float) -> int:
        return int(self.db.execute("DELETE FROM sessions WHERE expires_at < ?", (when,)).rowcount)


class SqliteThrottle(_Table):
    table, model = "login_throttle", ThrottleState

    def get(self, key: str) -> ThrottleState | None:  # type: ignore[override]
        return self._one("key = ?", (key,))  # type: ignore[no-any-return]

    def fail(self, key: str, when: float, window_seconds: float) -> int:
        row = self.db.execute(
            "INSERT INTO login_throttle (key, failures, first_at, locked_until) VALUES (?, 1, ?, 0) "
            "ON CONFLICT(key) DO UPDATE SET "
            "failures = CASE WHEN first_at < ? THEN 1 ELSE failures + 1 END, "
            "first_at = CASE WHEN first_at < ? THEN excluded.first_at ELSE first_at END "
            "RETURNING failures",
            (key, when, when - window_seconds, when - window_seconds),
        ).fetchone()
        return int(row[0])

    def lock(self, key: str, until: float) -> None:
        self.db.execute("UPDATE login_throttle SET locked_until = ? WHERE key = ?", (until, key))

    def clear(self, key: str) -> None:
        self.db.execute("DELETE FROM login_throttle WHERE key = ?", (key,))

    def locked(self, when: float) -> list[ThrottleState]:
        return self._many("locked_until > ?", (when,), "ORDER BY locked_until DESC")

    def purge(self, before: float, when: float) -> int:
        cur = self.db.execute("DELETE FROM login_throttle WHERE first_at < ? AND locked_until <= ?", (before, when))
        return int(cur.rowcount)


class SqliteTokens(_Table):
    table, model = "account_tokens", AccountToken

    def add(self, token: AccountToken) -> AccountToken:
        return self._insert(token)  # type: ignore[no-any-return]

    def consume(self, token_id: str, when: float) -> bool:
        cur = self.db.execute(
            "UPDATE account_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at >= ?",
            (when, token_id, when))
        return cur.rowcount == 1

    def delete_for_user(self, user_id: str, purpose: str | None = None) -> None:
        if purpose is None:
            self.db.execute("DELETE FROM account_tokens WHERE user_id = ?", (user_id,))
        else:
            self.db.execute("DELETE FROM account_tokens WHERE user_id = ? AND purpose = ?", (user_id, purpose))


class SqliteAudit(_Table):
    table, model = "audit_log", AuditEntry

    def add(self, entry: AuditEntry) -> AuditEntry:
        return self._insert(entry)  # type: ignore[no-any-return]

    def recent(self, limit: int = 100) -> list[AuditEntry]:
        return self._many("1", (), f"ORDER BY created_at DESC, id LIMIT {int(limit)}")


class SqliteAccounts:
    def __init__(self, db: _Db, blobs: FileBlobs):
        self.db = db
        self.blobs = blobs
        self.sessions = SqliteSessions(db)
        self.throttle = SqliteThrottle(db)
        self.tokens = SqliteTokens(db)
        self.audit = SqliteAudit(db)

    def bump_session_version(self, user_id: str) -> int:
        row = self.db.execute(
            "UPDATE users SET session_version = session_version + 1 WHERE id = ? RETURNING session_version",
            (user_id,)).fetchone()
        return int(row[0]) if row else 0

    def _owner_tables(self) -> list[tuple[str, str]]:
        """(table, column) of every table with an owner_id or user_id column, found at run time so
        tables added later by other areas are covered too."""
        out = []
        tables = [r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            if table in _NOT_OWNED:
                continue
            columns = {r[1] for r in self.db.execute(f'PRAGMA table_info("{table}")')}
            for column in ("owner_id", "user_id"):
                if column in columns:
                    out.append((table, column))
                    break
        return out

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        import json

        out = []
        for row in self.db.execute(sql, params).fetchall():
            item = {k: row[k] for k in row.keys() if k not in _SECRET_COLUMNS}
            for key in _JSON_FIELDS & item.keys():
                if isinstance(item[key], str):
                    item[key] = json.loads(item[key])
            out.append(item)
        return out

    def export_rows(self, user_id: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {
            "account": self._rows("SELECT * FROM users WHERE id = ?", (user_id,)),
        }
        for table, column in self._owner_tables():
            if table in ("sessions", "account_tokens"):
                continue
            out[table] = self._rows(f'SELECT * FROM "{table}" WHERE {column} = ?', (user_id,))
        for table in _BY_DOCUMENT:
            out[table] = self._rows(
                f"SELECT * FROM {table} WHERE document_id IN (SELECT id FROM documents WHERE owner_id = ?)",
                (user_id,))
        return out

    def erase_user(self, user_id: str) -> None:
        blob_ids = [r[0] for r in self.db.execute(
            "SELECT blob_id FROM documents WHERE owner_id = ? AND blob_id != ''", (user_id,))]
        course_ids = [r[0] for r in self.db.execute("SELECT id FROM courses WHERE owner_id = ?", (user_id,))]
        with self.db.transaction() as tx:
            for table in _BY_DOCUMENT:
                tx.execute(f"DELETE FROM {table} WHERE document_id IN "
                           "(SELECT id FROM documents WHERE owner_id = ?)", (user_id,))
            for table, column in self._owner_tables():
                if table != "users":
                    tx.execute(f'DELETE FROM "{table}" WHERE {column} = ?', (user_id,))
            tx.execute("DELETE FROM counters WHERE key LIKE ? OR key LIKE ?",
                       (f"%:{user_id}:%", f"%:{user_id}"))
            for course_id in course_ids:
                tx.execute("DELETE FROM counters WHERE key LIKE ?", (f"%:{course_id}",))
            # The audit log keeps what administrators did, without saying to whom.
            tx.execute("UPDATE audit_log SET target_id = 'deleted', detail = '{}' WHERE target_id = ?",
                       (user_id,))
            tx.execute("UPDATE audit_log SET actor_id = 'deleted' WHERE actor_id = ?", (user_id,))
            tx.execute("DELETE FROM users WHERE id = ?", (user_id,))
        for blob_id in blob_ids:
            self.blobs.delete(blob_id)

    def storage_bytes(self) -> dict[str, int]:
        rows = self.db.execute("SELECT owner_id, SUM(size) FROM documents GROUP BY owner_id").fetchall()
        return {r[0]: int(r[1] or 0) for r in rows}

    def jobs_in_state(self, state: str, limit: int = 100) -> list[Job]:
        rows = self.db.execute(f"SELECT * FROM jobs WHERE state = ? ORDER BY updated_at DESC LIMIT {int(limit)}",
                               (state,)).fetchall()
        return [_row_to(Job, r) for r in rows]  # type: ignore[misc]

    def retry_job(self, job_id: str, when: float) -> bool:
        cur = self.db.execute(
            "UPDATE jobs SET state = 'queued', attempts = 0, not_before = 0, dispatched_at = NULL, "
            "lease_owner = '', lease_token = '', lease_expires_at = NULL, error_user = '', progress = 0, stage = '', "
            "finished_at = NULL, updated_at = ? WHERE id = ? AND state IN ('failed', 'dead')",
            (when, job_id))
        return cur.rowcount == 1

    def cancel_job(self, job_id: str, when: float, message: str) -> bool:
        cur = self.db.execute(
            "UPDATE jobs SET state = 'failed', error_user = ?, lease_owner = '', lease_token = '', "
            "lease_expires_at = NULL, "
            "finished_at = ?, updated_at = ? WHERE id = ? AND state IN ('queued', 'running')",
            (message, when, when, job_id))
        return cur.rowcount == 1
