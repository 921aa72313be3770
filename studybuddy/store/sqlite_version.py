"""Has anything been committed to the database since? Answered without asking SQLite.

In WAL mode every connection to a database shares its wal-index, the `-shm` file beside it. The
index begins with a header that the committing connection rewrites on every commit, whatever
process it is in (https://www.sqlite.org/walformat.html, "The WAL-Index Header"): a counter
incremented by each transaction, the last frame of the log, and salts that change when the log
starts over. Two copies of the header follow each other; a writer updates the second, then the
first, and a reader that finds them different has caught a write half-way.

So the header read from a read-only mapping of that file is a version of the whole database: the
same bytes twice means nothing was committed in between. Reading it is a copy of 96 bytes under
the interpreter lock, where a query would release and win back the lock twice (prepare and step),
which is what a busy web process pays most for.

`ReadCache` keeps the result of a read beside the version seen before it ran, and answers from it
while the version stays the same. Any commit by anyone makes every kept read stale.
"""

from __future__ import annotations

import mmap
import sqlite3
import threading
from typing import Callable, Generic, Hashable, TypeVar

T = TypeVar("T")

# The header is 48 bytes, stored twice; its isInit byte is at offset 12.
_HEADER = 48
_IS_INIT = 12


def trusted_header(both: bytes) -> bytes | None:
    """The header from its two copies, if they agree and the index is set up."""
    first = both[:_HEADER]
    if len(both) != 2 * _HEADER or first != both[_HEADER:] or first[_IS_INIT] != 1:
        return None
    return first


class DataVersion:
    """The wal-index header of one database, read from a mapping of its -shm file.

    It holds a connection of its own that has read the database: while any connection is open
    SQLite keeps the -shm file in place (the last one to close removes it), so the mapping never
    outlives the file it maps."""

    def __init__(self, path: str):
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._map: mmap.mmap | None = None
        try:
            if self._conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                return
            self._conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            with open(f"{path}-shm", "rb") as shm:
                self._map = mmap.mmap(shm.fileno(), 2 * _HEADER, access=mmap.ACCESS_READ)
        except (OSError, ValueError, sqlite3.Error):
            # No wal-index to read (a database that is not in WAL mode, a file system that
            # cannot map it): every read goes to SQLite.
            self._map = None

    def current(self) -> bytes | None:
        """The header now; None when it cannot be trusted (mid-write, not set up, closed)."""
        mapped = self._map
        if mapped is None:
            return None
        try:
            return trusted_header(mapped[: 2 * _HEADER])
        except ValueError:  # closed by another thread
            return None

    def close(self) -> None:
        mapped, self._map = self._map, None
        if mapped is not None:
            mapped.close()
        self._conn.close()


class ReadCache(Generic[T]):
    """Reads kept while the database has not changed; at most `limit` of them."""

    def __init__(self, version: Callable[[], bytes | None], limit: int = 4096):
        self._version = version
        self._limit = limit
        self._kept: dict[Hashable, tuple[bytes, T]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        # The version is taken before the read: a commit that lands while it runs changes the
        # version, so what the read saw is never kept under a version it may not match.
        seen = self._version()
        if seen is None:
            return load()
        kept = self._kept.get(key)
        if kept is not None and kept[0] == seen:
            return kept[1]
        value = load()
        with self._lock:
            if len(self._kept) >= self._limit:
                self._kept.clear()
            self._kept[key] = (seen, value)
        return value
