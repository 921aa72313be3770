"""The SQLite schema as numbered migrations, applied in order by SqliteStore at open."""

from __future__ import annotations

import sqlite3
import time
from typing import Iterator

from .sqlite_cards import MIGRATION as CARDS_MIGRATION

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
