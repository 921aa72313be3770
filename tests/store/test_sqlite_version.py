"""The database version read from SQLite's wal-index, and the reads kept while it stays the same:
every commit moves it, by whatever connection or process; nothing else does; a header caught
mid-write, an open transaction or a database without a wal-index give no version, and then every
read goes to SQLite."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from studybuddy.store.models import Course, User, new_id
from studybuddy.store.sqlite import SqliteStore
from studybuddy.store.sqlite_version import DataVersion, ReadCache, trusted_header


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "db.sqlite", tmp_path / "blobs")
    yield store
    store.close()


def _version(store: SqliteStore) -> bytes:
    seen = store.db.data_version()
    assert seen is not None
    return seen


def test_every_commit_moves_the_version_whoever_makes_it(sqlite_store: SqliteStore, tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite")
    seen = [_version(sqlite_store)]

    def moved() -> bool:
        seen.append(_version(sqlite_store))
        return seen[-1] != seen[-2]

    # Reads move nothing.
    assert sqlite_store.users.count() == 0 and not moved()
    user = sqlite_store.users.add(User(id=new_id(), email="a@example.com", password_hash="x"))
    assert moved()
    with sqlite_store.db.transaction() as tx:
        tx.execute("UPDATE users SET display_name = 'A' WHERE id = ?", (user.id,))
    assert moved()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("UPDATE users SET display_name = 'B' WHERE id = ?", (user.id,))
    assert moved()
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE users SET display_name = 'C' WHERE id = ?", (user.id,))
    assert not moved(), "a write not yet committed is nobody's to see"
    other.execute("ROLLBACK")
    assert not moved()
    other.close()
    subprocess.run([sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                    "c.execute(\"UPDATE users SET display_name = 'D'\"); c.commit()", path], check=True)
    assert moved()
    # A checkpoint that starts the log over changes the header too: a read kept is thrown away,
    # never one served that should not be.
    sqlite_store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    sqlite_store.users.update(user.id, display_name="E")
    assert moved()
    assert len(set(seen)) == len(seen) - 3  # the three "not moved" reads repeat the one before


def test_no_version_inside_this_threads_transaction(sqlite_store: SqliteStore) -> None:
    """Its own writes are not in the header until it commits: reads must go to SQLite."""
    with sqlite_store.db.transaction() as tx:
        assert sqlite_store.db.data_version() is None
        tx.execute("SELECT 1").fetchone()
    assert sqlite_store.db.data_version() is not None


def test_a_header_that_cannot_be_trusted_gives_no_version() -> None:
    header = bytearray(48)
    header[12] = 1  # isInit
    header[8] = 7  # iChange
    assert trusted_header(bytes(header) * 2) == bytes(header)
    torn = bytes(header) + bytes(header[:8]) + b"\x08" + bytes(header[9:])
    assert trusted_header(torn) is None
    not_set_up = bytearray(header)
    not_set_up[12] = 0
    assert trusted_header(bytes(not_set_up) * 2) is None
    assert trusted_header(bytes(header)) is None


def test_a_database_without_a_wal_index_has_no_version(tmp_path: Path) -> None:
    path = str(tmp_path / "rollback-journal.db")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    version = DataVersion(path)
    assert version.current() is None
    version.close()


def test_a_store_closed_and_used_again_reads_the_live_index(sqlite_store: SqliteStore, tmp_path: Path) -> None:
    """The last connection to close removes the -shm file; the next one makes a new one. The
    version must come from that one, not from a mapping of the file removed."""
    sqlite_store.close()
    assert not (tmp_path / "db.sqlite-shm").exists()
    before = _version(sqlite_store)
    other = sqlite3.connect(str(tmp_path / "db.sqlite"), isolation_level=None)
    other.execute("CREATE TABLE extra (x)")
    other.close()
    assert _version(sqlite_store) != before


class _Versions:
    def __init__(self) -> None:
        self.now: bytes | None = b"v1"

    def __call__(self) -> bytes | None:
        return self.now


def test_a_read_is_kept_only_while_the_version_stays(tmp_path: Path) -> None:
    versions = _Versions()
    cache: ReadCache[int] = ReadCache(versions, limit=3)
    loads: list[str] = []

    def load(key: str, value: int) -> Any:
        return lambda: loads.append(key) or value

    assert cache.get("a", load("a", 1)) == 1
    assert cache.get("a", load("a", 2)) == 1
    assert loads == ["a"]
    versions.now = b"v2"
    assert cache.get("a", load("a", 3)) == 3
    assert loads == ["a", "a"]
    versions.now = None  # no version: every read goes through
    assert cache.get("a", load("a", 4)) == 4
    assert cache.get("a", load("a", 5)) == 5
    assert loads == ["a"] * 4


def test_a_read_racing_a_commit_is_kept_under_the_version_before_it() -> None:
    versions = _Versions()
    cache: ReadCache[str] = ReadCache(versions)

    def read_while_someone_commits() -> str:
        versions.now = b"v2"
        return "maybe older than v2"

    assert cache.get("k", read_while_someone_commits) == "maybe older than v2"
    assert cache.get("k", lambda: "read at v2") == "read at v2"


def test_the_cache_holds_at_most_its_limit() -> None:
    cache: ReadCache[int] = ReadCache(lambda: b"v", limit=3)
    for i in range(10):
        cache.get(i, lambda i=i: i)  # type: ignore[misc]
    assert len(cache._kept) <= 3
    assert cache.get(9, lambda: -1) == 9


def test_a_kept_course_stamp_follows_writes_from_another_process(sqlite_store: SqliteStore, tmp_path: Path) -> None:
    owner = sqlite_store.users.add(User(id=new_id(), email="o@example.com", password_hash="x"))
    course = sqlite_store.courses.add(Course(id=new_id(), owner_id=owner.id, name="before"))
    first = sqlite_store.courses.get_stamped(course.id)
    assert first is not None and sqlite_store.courses.get_stamped(course.id) is first  # kept
    subprocess.run([sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                    "c.execute(\"UPDATE courses SET name = 'after'\"); c.commit()",
                    str(tmp_path / "db.sqlite")], check=True)
    after = sqlite_store.courses.get_stamped(course.id)
    assert after is not None and after[0].name == "after" and after[1].version != first[1].version
