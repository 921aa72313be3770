"""`studybuddy restore`: check everything first, then replace the target store with the archive.

The archive is read once into a staging directory beside the target while every member's
SHA-256 is checked; only when all of them match, the schema is one this code knows and the
staged database has been migrated does the target change. Any problem before that point leaves
the target exactly as it was.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol

from ..config import Config
from .archive import BackupError, fsync_dir, read_archive
from .mapping import doc_to_row, row_to_doc, sqlite_tables, table_shape
from .sources import BLOB_BUCKET, COLLECTIONS, DB_MEMBER, code_schema_version, table_counts

log = logging.getLogger(__name__)

BATCH = 1000
# Tables every store has from its first start; they hold no one's data.
BOOKKEEPING = frozenset({"schema_migrations"})


@dataclass
class RestoreReport:
    manifest: dict[str, Any]
    target_engine: str
    schema_from: int
    schema_to: int
    tables: dict[str, int] = field(default_factory=dict)
    blobs: int = 0
    blob_bytes: int = 0


class Staged:
    """The archive's members unpacked under one directory, in the layout the targets use."""

    def __init__(self, root: Path):
        self.root = root
        self.db = root / "studybuddy.db"
        self.collections = root / "collections"
        self.blobs = root / "blobs"
        self.gridfs = root / "gridfs"
        self.config = root / "config.yaml"

    def path_for(self, name: str) -> Path:
        if name == DB_MEMBER:
            return self.db
        if name.startswith(COLLECTIONS):
            return self.collections / name[len(COLLECTIONS):]
        if name.startswith("blobs/"):
            blob_id = name[len("blobs/"):]
            return self.blobs / blob_id[:2] / blob_id
        if name.startswith("gridfs/"):
            return self.gridfs / name[len("gridfs/"):]
        return self.config

    def sink(self, name: str, size: int) -> IO[bytes]:
        path = self.path_for(name)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o770)
        mode = 0o660 if path == self.db else 0o600
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        # The services share the database through their group, whatever the umask (as store.sqlite).
        os.fchmod(fd, mode)
        return os.fdopen(fd, "wb", buffering=0)

    def blob_files(self, root: Path) -> Iterator[Path]:
        if root.is_dir():
            for sub in sorted(root.iterdir()):
                yield from sorted(p for p in sub.iterdir() if p.is_file())


class Target(Protocol):
    engine: str

    def contents(self) -> dict[str, int]:
        """What the target holds now: table or collection -> records, and "blobs"; empty when new."""

    def staging_parent(self) -> Path: ...

    def apply(self, staged: Staged, manifest: dict[str, Any], force: bool) -> RestoreReport: ...


def verify_backup(archive: Path | BinaryIO) -> dict[str, Any]:
    """Check every member against the manifest and the schema against this code; restore nothing."""
    manifest = read_archive(archive, lambda name, size: None)
    check_schema(manifest)
    return manifest


def check_schema(manifest: dict[str, Any]) -> None:
    store = manifest.get("store") or {}
    version = store.get("schema_version")
    if not isinstance(version, int):
        raise BackupError("the archive's manifest has no schema version: it was altered")
    if version > code_schema_version():
        raise BackupError(
            f"the archive was made by StudyBuddy {manifest.get('app_version', '?')} with schema {version}; "
            f"this StudyBuddy knows schema {code_schema_version()} at most. Install StudyBuddy "
            f"{manifest.get('app_version', '?')} or newer to restore it")
    if store.get("engine") not in ("sqlite", "mongodb"):
        raise BackupError(f"the archive holds an unknown store engine {store.get('engine')!r}")


def restore_backup(archive: Path | BinaryIO, target: Target, *, force: bool = False) -> RestoreReport:
    held = {k: v for k, v in target.contents().items() if v and k not in BOOKKEEPING}
    if held and not force:
        listed = ", ".join(f"{k} {v}" for k, v in sorted(held.items()))
        raise BackupError(f"the target store is not empty ({listed}); restoring would replace everything in "
                          "it. Add --force to do so")
    parent = target.staging_parent()
    parent.mkdir(parents=True, exist_ok=True)
    try:
        root = Path(tempfile.mkdtemp(prefix=".restore-", dir=parent))
    except OSError as exc:
        raise BackupError(f"cannot write in {parent}: {exc.strerror}") from None
    staged = Staged(root)
    try:
        manifest = read_archive(archive, staged.sink)
        check_schema(manifest)
        store = manifest["store"]
        if store["engine"] == "mongodb" and target.engine == "sqlite":
            other = sorted(b for b in store.get("gridfs_buckets", []) if b != BLOB_BUCKET)
            if other:
                raise BackupError(f"the archive holds GridFS buckets {other} that a SQLite store cannot keep")
        report = target.apply(staged, manifest, force)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise BackupError(f"no space left in {parent} to unpack the archive; nothing was restored") from None
        raise
    finally:
        shutil.rmtree(root, ignore_errors=True)
    log.info("restored %s into %s", getattr(archive, "name", archive), target.engine)
    return report


def _check_counts(manifest: dict[str, Any], counts: dict[str, int]) -> None:
    for table, want in sorted((manifest["store"].get("tables") or {}).items()):
        if counts.get(table, 0) != want:
            raise BackupError(f"{table}: the archive's manifest counts {want} records, the restored data "
                              f"{counts.get(table, 0)}; nothing was restored")


def _migrate_staged(staged: Staged, manifest: dict[str, Any]) -> tuple[int, int]:
    """Check the staged database's counts, then bring it to this code's schema (in one
    transaction) before it goes live."""
    from ..store.sqlite import SqliteStore

    if not staged.db.is_file():
        raise BackupError("the archive has no database: it was altered")
    conn = sqlite3.connect(staged.db)
    try:
        _check_counts(manifest, table_counts(conn))
        before = int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()
    try:
        SqliteStore(staged.db, staged.blobs).close()
    except Exception as exc:
        raise BackupError(f"migrating the archive's schema {before} failed ({exc}); nothing was restored") from None
    return before, code_schema_version()


def _bson_docs(path: Path) -> Iterator[dict[str, Any]]:
    import bson

    with path.open("rb") as f:
        yield from bson.decode_file_iter(f)


class SqliteTarget:
    engine = "sqlite"

    def __init__(self, db_path: Path, blob_root: Path):
        self.db_path = db_path
        self.blob_root = blob_root

    def contents(self) -> dict[str, int]:
        out: dict[str, int] = {}
        if self.db_path.is_file() and self.db_path.stat().st_size > 0:
            conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
            try:
                out.update(table_counts(conn))
            except sqlite3.Error as exc:
                raise BackupError(f"cannot read the current database {self.db_path}: {exc}") from None
            finally:
                conn.close()
        out["blobs"] = sum(1 for _ in Staged(self.blob_root).blob_files(self.blob_root))
        return out

    def staging_parent(self) -> Path:
        return self.db_path.parent

    def apply(self, staged: Staged, manifest: dict[str, Any], force: bool) -> RestoreReport:
        store = manifest["store"]
        if store["engine"] == "sqlite":
            before, after = _migrate_staged(staged, manifest)
        else:
            before, after = int(store["schema_version"]), code_schema_version()
            self._load_collections(staged, manifest)
        conn = sqlite3.connect(staged.db)
        try:
            counts = table_counts(conn)
        finally:
            conn.close()
        blobs = list(staged.blob_files(staged.blobs))
        self._swap(staged)
        return RestoreReport(manifest, self.engine, before, after, counts, len(blobs),
                             sum(p.stat().st_size for p in Staged(self.blob_root).blob_files(self.blob_root)))

    def _load_collections(self, staged: Staged, manifest: dict[str, Any]) -> None:
        from ..store.sqlite import SqliteStore

        fd = os.open(staged.db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o660)
        os.fchmod(fd, 0o660)
        os.close(fd)
        SqliteStore(staged.db, staged.blobs).close()  # this code's schema
        conn = sqlite3.connect(staged.db, isolation_level=None)
        try:
            tables = set(sqlite_tables(conn))
            conn.execute("BEGIN")
            counts: dict[str, int] = {}
            for path in sorted(staged.collections.glob("*.bson")) if staged.collections.is_dir() else []:
                name = path.name[: -len(".bson")]
                if name not in tables:
                    raise BackupError(f"collection {name} has no table in the SQLite schema; restoring into "
                                      "SQLite would lose it")
                shape = table_shape(conn, name)
                n = 0
                for doc in _bson_docs(path):
                    row = doc_to_row(shape, doc)
                    cols = ", ".join(f'"{c}"' for c in row)
                    marks = ", ".join("?" for _ in row)
                    conn.execute(f'INSERT INTO "{name}" ({cols}) VALUES ({marks})', list(row.values()))
                    n += 1
                counts[name] = n
            _check_counts(manifest, counts)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def _swap(self, staged: Staged) -> None:
        for suffix in ("-wal", "-shm"):
            # A WAL left by the old database must never be replayed into the restored one.
            Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)
        os.replace(staged.db, self.db_path)
        staged.blobs.mkdir(exist_ok=True, mode=0o770)
        old = self.blob_root.with_name(f".{self.blob_root.name}.before-restore")
        shutil.rmtree(old, ignore_errors=True)
        if self.blob_root.exists():
            os.replace(self.blob_root, old)
        try:
            os.replace(staged.blobs, self.blob_root)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            shutil.move(str(staged.blobs), str(self.blob_root))
        shutil.rmtree(old, ignore_errors=True)
        fsync_dir(self.db_path.parent)
        fsync_dir(self.blob_root.parent)


class MongoTarget:
    engine = "mongodb"

    def __init__(self, client: Any, database: str, scratch: Path):
        self.client = client
        self.db = client[database]
        self.database = database
        self.scratch = scratch

    def _collections(self) -> list[str]:
        return sorted(n for n in self.db.list_collection_names() if not n.startswith("system."))

    def contents(self) -> dict[str, int]:
        return {n: int(self.db[n].count_documents({})) for n in self._collections()}

    def staging_parent(self) -> Path:
        return self.scratch

    def apply(self, staged: Staged, manifest: dict[str, Any], force: bool) -> RestoreReport:
        import gridfs

        store = manifest["store"]
        if store["engine"] == "sqlite":
            before, after = _migrate_staged(staged, manifest)
        else:
            before, after = int(store["schema_version"]), code_schema_version()
        from ..store.mongo import MongoStore

        for name in self._collections():
            self.db.drop_collection(name)
        # Indexes first: unique ones then hold while the records go in.
        MongoStore("mongodb://restore", client=self.client, database=self.database)
        counts = self._load_sqlite(staged) if store["engine"] == "sqlite" else self._load_bson(staged)
        if store["engine"] == "mongodb":
            _check_counts(manifest, counts)
        blobs, size = 0, 0
        buckets = [(BLOB_BUCKET, staged.blobs)]
        if staged.gridfs.is_dir():
            buckets += [(p.name, p) for p in sorted(staged.gridfs.iterdir()) if p.is_dir()]
        for bucket, root in buckets:
            fs = gridfs.GridFS(self.db, collection=bucket)
            files = staged.blob_files(root) if bucket == BLOB_BUCKET else sorted(root.iterdir())
            for path in files:
                with path.open("rb") as f:
                    fs.put(f, _id=path.name)
                blobs += 1
                size += path.stat().st_size
        return RestoreReport(manifest, self.engine, before, after, counts, blobs, size)

    def _insert(self, name: str, docs: Iterator[dict[str, Any]]) -> int:
        n = 0
        batch: list[dict[str, Any]] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= BATCH:
                self.db[name].insert_many(batch, ordered=True)
                n += len(batch)
                batch = []
        if batch:
            self.db[name].insert_many(batch, ordered=True)
            n += len(batch)
        return n

    def _load_bson(self, staged: Staged) -> dict[str, int]:
        counts: dict[str, int] = {}
        for path in sorted(staged.collections.glob("*.bson")) if staged.collections.is_dir() else []:
            name = path.name[: -len(".bson")]
            counts[name] = self._insert(name, _bson_docs(path))
        return counts

    def _load_sqlite(self, staged: Staged) -> dict[str, int]:
        conn = sqlite3.connect(f"file:{staged.db}?mode=ro", uri=True)
        counts: dict[str, int] = {}
        try:
            for table in sqlite_tables(conn):
                shape = table_shape(conn, table)
                cols = ", ".join(f'"{c}"' for c in shape.columns)
                rows = conn.execute(f'SELECT {cols} FROM "{table}"')
                counts[table] = self._insert(table, (row_to_doc(shape, r) for r in rows))
        finally:
            conn.close()
        return counts


def target_for(cfg: Config) -> Target:
    url = cfg.storage_url
    if url.startswith("sqlite:///"):
        return SqliteTarget(Path(url[len("sqlite:///"):]), cfg.state_path / "blobs")
    import pymongo

    from ..store.mongo import _database_name

    client: Any = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000, tz_aware=False)
    return MongoTarget(client, _database_name(url), cfg.state_path)


def running_units(cfg: Config) -> list[str]:
    """The StudyBuddy units systemd reports running (none where there is no systemd)."""
    units = list(cfg.monitor.units)
    systemctl = shutil.which(cfg.monitor.systemctl)
    if not systemctl or not units:
        return []
    try:
        proc = subprocess.run([systemctl, "is-active", *units], capture_output=True, text=True,
                              timeout=cfg.monitor.command_timeout_seconds, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    states = proc.stdout.split()
    if len(states) != len(units):
        return []  # no systemd here ("System has not been booted with systemd")
    return [u for u, s in zip(units, states) if s in ("active", "activating", "reloading", "deactivating")]
