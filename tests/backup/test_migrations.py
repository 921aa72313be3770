"""Each migration, from the schema before it, with real data; a failing one changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

import studybuddy.store.sqlite as sqlite_module
from studybuddy.store import StoreError
from studybuddy.store.sqlite import MIGRATIONS, SqliteStore

from .helpers import populate, sqlite_rows


def _store_at(version: int, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database at schema `version`, filled through the repositories of that time."""
    with monkeypatch.context() as m:
        m.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:version])
        store = SqliteStore(path / "studybuddy.db", path / "blobs")
        populate(store, cards=version >= 2)
        store.close()


def _migrate(version: int, path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], SqliteStore]:
    """The rows of a database filled at the schema before `version`, and the store that opened it
    with the migrations up to `version`."""
    _store_at(version - 1, path, monkeypatch)
    before = sqlite_rows(path / "studybuddy.db")
    with monkeypatch.context() as m:
        m.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:version])
        return before, SqliteStore(path / "studybuddy.db", path / "blobs")


def _assert_rows_kept(path: Path, before: dict[str, Any], version: int, changed: frozenset[str] = frozenset()) -> None:
    """Every table but `changed` holds the rows it held, and the migration is recorded."""
    after = sqlite_rows(path / "studybuddy.db")
    unchanged = set(before) - changed - {"schema_migrations"}
    assert {t: after[t] for t in unchanged} == {t: before[t] for t in unchanged}
    assert [r[0] for r in after["schema_migrations"]] == [r[0] for r in before["schema_migrations"]] + [version]


def test_migration_2_from_schema_1_adds_decks_cards_and_reviews_and_keeps_every_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _store_at(1, tmp_path, monkeypatch)
    before = sqlite_rows(tmp_path / "studybuddy.db")
    with monkeypatch.context() as m:
        m.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:2])
        SqliteStore(tmp_path / "studybuddy.db", tmp_path / "blobs").close()
    after = sqlite_rows(tmp_path / "studybuddy.db")
    assert {t: r for t, r in after.items() if t in before} == before
    assert {"decks", "cards", "card_reviews"} <= set(after) and not after["cards"]


def test_migration_3_from_schema_2_adds_chunk_vectors_and_keeps_every_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _store_at(2, tmp_path, monkeypatch)
    before = sqlite_rows(tmp_path / "studybuddy.db")
    assert before["chunks"]
    with monkeypatch.context() as m:
        m.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:3])
        SqliteStore(tmp_path / "studybuddy.db", tmp_path / "blobs").close()
    after = sqlite_rows(tmp_path / "studybuddy.db")
    assert {t: r for t, r in after.items() if t != "chunks"} == {t: r for t, r in before.items() if t != "chunks"}
    # Every chunk keeps its columns and gains an empty vector (filled by `studybuddy embed-chunks`).
    assert sorted(row[:-2] for row in after["chunks"]) == sorted(before["chunks"])
    assert {row[-2:] for row in after["chunks"]} == {(None, "")}


def test_migration_4_from_schema_3_keeps_every_row_and_records_itself(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _store_at(3, tmp_path, monkeypatch)
    before = sqlite_rows(tmp_path / "studybuddy.db")
    assert "schema_migrations" not in before and before["cards"]
    with monkeypatch.context() as m:
        m.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:4])
        store = SqliteStore(tmp_path / "studybuddy.db", tmp_path / "blobs")
    try:
        assert store.schema_version == 4
        alice = store.users.get_by_email("alice@example.com")
        assert alice is not None and alice.is_admin
        assert len(store.items.find("review_log", owner_id=alice.id)) == 5
        assert len(store.cards.list_for_owner(alice.id)) == 3
    finally:
        store.close()
    after = sqlite_rows(tmp_path / "studybuddy.db")
    assert {t: r for t, r in after.items() if t != "schema_migrations"} == before
    assert [row[0] for row in after["schema_migrations"]] == [4], "only the migration applied now is recorded"
    # Opening again applies nothing and records nothing more.
    with monkeypatch.context() as m:
        m.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:4])
        SqliteStore(tmp_path / "studybuddy.db", tmp_path / "blobs").close()
    assert sqlite_rows(tmp_path / "studybuddy.db") == after


def test_migration_5_from_schema_4_adds_document_hash_and_outline_and_keeps_every_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _store_at(4, tmp_path, monkeypatch)
    before = sqlite_rows(tmp_path / "studybuddy.db")
    assert before["documents"]
    with monkeypatch.context() as m:
        m.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:5])
        store = SqliteStore(tmp_path / "studybuddy.db", tmp_path / "blobs")
    try:
        # Documents from before have no hash: they hold no bytes back from a new upload.
        document = store.documents.get(before["documents"][0][0])
        assert document is not None and (document.content_hash, document.outline) == ("", "")
        assert store.documents.find_by_hash(document.course_id, "") is None
    finally:
        store.close()
    after = sqlite_rows(tmp_path / "studybuddy.db")
    unchanged = ("documents", "schema_migrations")
    assert {t: r for t, r in after.items() if t not in unchanged} == {
        t: r for t, r in before.items() if t not in unchanged}
    # Every document keeps its columns and gains an empty hash and outline.
    assert sorted(row[:-2] for row in after["documents"]) == sorted(before["documents"])
    assert {row[-2:] for row in after["documents"]} == {("", "")}
    assert [row[0] for row in after["schema_migrations"]] == [row[0] for row in before["schema_migrations"]] + [5]


def test_migration_6_from_schema_5_adds_account_state_and_tables_and_keeps_every_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before, store = _migrate(6, tmp_path, monkeypatch)
    assert "sessions" not in before and before["users"]
    try:
        alice = store.users.get_by_email("alice@example.com")
        assert alice is not None and alice.is_admin
        assert (alice.session_version, alice.disabled, alice.email_verified) == (0, False, False)
    finally:
        store.close()
    _assert_rows_kept(tmp_path, before, 6, changed=frozenset({"users"}))
    after = sqlite_rows(tmp_path / "studybuddy.db")
    # Every account keeps its columns and gains a session version and two flags, all zero.
    assert sorted(row[:-3] for row in after["users"]) == sorted(before["users"])
    assert {row[-3:] for row in after["users"]} == {(0, 0, 0)}
    assert {"sessions", "login_throttle", "account_tokens", "audit_log"} <= set(after)


def test_migration_7_from_schema_6_adds_job_lease_tokens_and_keeps_every_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before, store = _migrate(7, tmp_path, monkeypatch)
    assert before["jobs"]
    try:
        # A job running when the old version stopped has no token: no write is fenced in by an
        # empty one, and once its lease runs out a new claim takes it over.
        running = [j for j in (store.jobs.get(r[0]) for r in before["jobs"]) if j and j.state == "running"]
        assert running and running[0].lease_token == ""
        job = running[0]
        assert not store.jobs.finish(job.id, "", "succeeded", job.started_at + 1)
        taken = store.jobs.claim(job.id, "new-worker", 30, job.lease_expires_at + 1)
        assert taken is not None and taken.lease_token
    finally:
        store.close()
    _assert_rows_kept(tmp_path, before, 7, changed=frozenset({"jobs"}))


def test_migration_8_from_schema_7_adds_course_stamps_kept_by_triggers_and_keeps_every_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before, store = _migrate(8, tmp_path, monkeypatch)
    assert before["documents"] and before["courses"]
    try:
        _assert_rows_kept(tmp_path, before, 8)
        # Courses from before start at version 0; the first write to one of their documents moves it.
        document = store.documents.get(before["documents"][0][0])
        assert document is not None
        first = store.courses.get_stamped(document.course_id)
        assert first is not None and first[1].version == 0
        store.documents.update(document.id, display_name="renamed after the upgrade")
        second = store.courses.get_stamped(document.course_id)
        assert second is not None and second[1].version == 1
        plan = store.db.execute("EXPLAIN QUERY PLAN SELECT 1 FROM jobs WHERE course_id = ? AND state = 'queued'",
                                ("x",)).fetchall()
        assert "jobs_course_state" in " ".join(str(tuple(r)) for r in plan)
    finally:
        store.close()


def test_a_new_database_records_every_migration(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "studybuddy.db", tmp_path / "blobs").close()
    rows = sqlite_rows(tmp_path / "studybuddy.db")["schema_migrations"]
    assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))


def test_every_migration_has_a_test_from_the_schema_before_it() -> None:
    """A new migration N needs its test_migration_N_from_schema_... here."""
    names = set(globals())
    for number in range(2, len(MIGRATIONS) + 1):
        assert any(n.startswith(f"test_migration_{number}_from_schema_{number - 1}") for n in names), number


def test_a_failing_migration_leaves_the_data_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _store_at(len(MIGRATIONS), tmp_path, monkeypatch)
    before = sqlite_rows(tmp_path / "studybuddy.db")
    broken = MIGRATIONS + ["CREATE TABLE half_done (a TEXT);\nALTER TABLE users ADD COLUMN x TEXT;\n"
                           "INSERT INTO no_such_table VALUES (1)"]
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", broken)
    with pytest.raises(StoreError, match="no such table"):
        SqliteStore(tmp_path / "studybuddy.db", tmp_path / "blobs")
    conn = sqlite3.connect(tmp_path / "studybuddy.db")
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert "x" not in [r[1] for r in conn.execute("PRAGMA table_info(users)")]
    finally:
        conn.close()
    assert sqlite_rows(tmp_path / "studybuddy.db") == before


def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "studybuddy.db", tmp_path / "blobs").close()
    conn = sqlite3.connect(tmp_path / "studybuddy.db")
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this StudyBuddy knows"):
        SqliteStore(tmp_path / "studybuddy.db", tmp_path / "blobs")


def test_migrate_command_reports_and_fails_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from studybuddy.cli import main

    config = tmp_path / "c.yaml"
    config.write_text(f"app:\n  state_dir: {tmp_path}\n")
    _store_at(1, tmp_path, monkeypatch)
    result = CliRunner().invoke(main, ["-c", str(config), "migrate"], env={})
    latest = len(MIGRATIONS)
    assert result.exit_code == 0 and f"schema migrated 1 -> {latest}" in result.output, result.output
    result = CliRunner().invoke(main, ["-c", str(config), "migrate"], env={})
    assert result.exit_code == 0 and f"schema {latest} is current" in result.output
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS + ["INSERT INTO no_such_table VALUES (1)"])
    result = CliRunner().invoke(main, ["-c", str(config), "migrate"], env={})
    assert result.exit_code == 1
    assert "migration failed" in result.output and f"left as it was (schema {latest})" in result.output
