"""What goes into an archive from each store: a consistent snapshot of its records, and its blobs."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Any, Protocol

from .archive import ArchiveWriter, BackupError, iter_files
from .mapping import sqlite_tables

log = logging.getLogger(__name__)

DB_MEMBER = "store/studybuddy.db"
COLLECTIONS = "store/collections/"
BLOB_BUCKET = "blobs"


def code_schema_version() -> int:
    """The schema this code reads and writes (the number of SQLite migrations it knows)."""
    from ..store.sqlite_schema import MIGRATIONS

    return len(MIGRATIONS)


class Source(Protocol):
    engine: str

    def write(self, writer: ArchiveWriter, scratch: Path) -> dict[str, Any]:
        """Add the store's members; return the manifest's "store" section."""


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: int(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in sqlite_tables(conn)}


class SqliteSource:
    engine = "sqlite"

    def __init__(self, db_path: Path, blob_root: Path, busy_timeout_ms: int = 5000):
        self.db_path = db_path
        self.blob_root = blob_root
        self.busy_timeout_ms = busy_timeout_ms

    def write(self, writer: ArchiveWriter, scratch: Path) -> dict[str, Any]:
        if not self.db_path.is_file() or self.db_path.stat().st_size == 0:
            raise BackupError(f"there is no StudyBuddy database at {self.db_path} to back up")
        snapshot = scratch / "studybuddy.db"
        # One step of the online backup API copies every page under one read transaction: a
        # consistent snapshot, while writers go on (WAL lets them), and never a restart.
        src = sqlite3.connect(self.db_path, timeout=self.busy_timeout_ms / 1000)
        try:
            dst = sqlite3.connect(snapshot)
            try:
                src.backup(dst, pages=-1)
                version = int(dst.execute("PRAGMA user_version").fetchone()[0])
                counts = table_counts(dst)
            finally:
                dst.close()
        except sqlite3.Error as exc:
            raise _disk_error(exc, scratch) from None
        finally:
            src.close()
        writer.add_file(DB_MEMBER, snapshot)
        snapshot.unlink()
        blobs, size = 0, 0
        for path in iter_files(self.blob_root):
            try:
                f = path.open("rb")
            except FileNotFoundError:
                continue  # deleted with its document since the snapshot
            with f:
                st = os.fstat(f.fileno())
                writer.add_stream(f"blobs/{path.name}", f, st.st_size, st.st_mtime)
            blobs += 1
            size += st.st_size
        return {"engine": self.engine, "schema_version": version, "sqlite_version": sqlite3.sqlite_version,
                "tables": counts, "blobs": {"count": blobs, "bytes": size}}


def _disk_error(exc: sqlite3.Error, where: Path) -> BackupError:
    if "full" in str(exc).lower():
        return BackupError(f"no space left in {where}: the backup was not written")
    return BackupError(f"the database could not be read for the backup: {exc}")


class MongoSource:
    engine = "mongodb"

    def __init__(self, db: Any):
        self.db = db

    def _buckets(self, names: list[str]) -> list[str]:
        return sorted(n[: -len(".files")] for n in names
                      if n.endswith(".files") and f"{n[: -len('.files')]}.chunks" in names)

    def write(self, writer: ArchiveWriter, scratch: Path) -> dict[str, Any]:
        import bson
        import gridfs

        names = sorted(self.db.list_collection_names())
        buckets = self._buckets(names)
        skip = {f"{b}.{part}" for b in buckets for part in ("files", "chunks")}
        counts: dict[str, int] = {}
        session = _snapshot_session(self.db.client)
        try:
            for name in names:
                if name in skip or name.startswith("system."):
                    continue
                path = scratch / f"{name}.bson"
                count = 0
                with path.open("wb") as out:
                    # Each collection is read in one snapshot when the server offers them
                    # (replica sets); on a standalone server, in one cursor.
                    for doc in self.db[name].find({}, session=session).sort("_id", 1):
                        out.write(bson.encode(doc))
                        count += 1
                writer.add_file(f"{COLLECTIONS}{name}.bson", path)
                path.unlink()
                counts[name] = count
            blobs, size = 0, 0
            for bucket in buckets:
                fs = gridfs.GridFS(self.db, collection=bucket)
                for meta in self.db[f"{bucket}.files"].find({}, {"_id": 1}, session=session).sort("_id", 1):
                    blob_id = str(meta["_id"])
                    try:
                        grid = fs.get(meta["_id"])
                    except gridfs.errors.NoFile:
                        continue
                    member = f"blobs/{blob_id}" if bucket == BLOB_BUCKET else f"gridfs/{bucket}/{blob_id}"
                    writer.add_stream(member, grid, int(grid.length))
                    blobs += 1
                    size += int(grid.length)
        finally:
            if session is not None:
                session.end_session()
        return {"engine": self.engine, "schema_version": code_schema_version(), "tables": counts,
                "gridfs_buckets": buckets, "blobs": {"count": blobs, "bytes": size}}


def _snapshot_session(client: Any) -> Any:
    """A snapshot session on servers that have them (replica sets, MongoDB 5.0+), else None."""
    try:
        hello = client.admin.command("hello")
    except Exception:  # noqa: BLE001 - mongomock and old servers: no snapshots
        return None
    if not hello.get("setName") or int(hello.get("maxWireVersion", 0)) < 13:
        return None
    try:
        return client.start_session(snapshot=True)
    except Exception as exc:  # noqa: BLE001
        log.warning("no snapshot session (%s): each collection is read in one cursor", exc)
        return None
