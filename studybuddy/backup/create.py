"""`studybuddy backup`: one archive of the store, its blobs and the configuration."""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import logging
import re
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .. import __version__
from ..config import Config, _section_types
from .archive import FORMAT, FORMAT_VERSION, SUFFIX, ArchiveWriter, BackupError
from .sources import MongoSource, Source, SqliteSource

log = logging.getLogger(__name__)

PREFIX = "studybuddy-"
_NAME = re.compile(r"^studybuddy-(\d{8}-\d{6})(?:-([A-Za-z0-9._+~-]+))?\.tar\.gz$")


@dataclass(frozen=True)
class Archive:
    path: Path
    created: dt.datetime  # UTC, from the name
    label: str


def parse_name(path: Path) -> Archive | None:
    match = _NAME.match(path.name)
    if not match:
        return None
    created = dt.datetime.strptime(match.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=dt.UTC)
    return Archive(path, created, match.group(2) or "")


def list_archives(directory: Path) -> list[Archive]:
    """Complete archives in a directory, newest first."""
    if not directory.is_dir():
        return []
    found = [a for a in (parse_name(p) for p in directory.iterdir() if p.is_file()) if a]
    return sorted(found, key=lambda a: (a.created, a.path.name), reverse=True)


def source_for(cfg: Config) -> Source:
    url = cfg.storage_url
    if url.startswith("sqlite:///"):
        return SqliteSource(Path(url[len("sqlite:///"):]), cfg.state_path / "blobs", cfg.storage.busy_timeout_ms)
    import pymongo

    from ..store.mongo import _database_name

    client: Any = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000, tz_aware=False)
    return MongoSource(client[_database_name(url)])


def config_snapshot(cfg: Config, source: str | None) -> tuple[bytes, list[str]]:
    """The effective settings as YAML, without secrets; and the names of the secrets left out."""
    settings: dict[str, dict[str, Any]] = {}
    left_out: list[str] = []
    for section in _section_types():
        obj = getattr(cfg, section)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if f.metadata.get("secret"):
                if value:
                    left_out.append(f"{section}.{f.name}")
                continue
            values[f.name] = value
        settings[section] = values
    head = (f"# StudyBuddy settings in effect when this backup was made (from {source or 'built-in defaults'}).\n"
            "# Secrets are not included: " + (", ".join(left_out) or "none were set") + ".\n")
    return (head + yaml.safe_dump(settings, allow_unicode=True, sort_keys=False)).encode(), left_out


def _free_name(directory: Path, label: str, now: float) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._+~-]", "_", label)[:80]
    moment = int(now)
    while True:
        stamp = dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y%m%d-%H%M%S")
        path = directory / f"{PREFIX}{stamp}{'-' + safe if safe else ''}{SUFFIX}"
        if not path.exists() and not path.with_name(f".{path.name}.partial").exists():
            return path
        moment += 1


def create_backup(cfg: Config, to_dir: Path | None = None, *, label: str = "", source: Source | None = None,
                  config_source: str | None = None) -> tuple[Path, dict[str, Any]]:
    """Write one archive into `to_dir` (default: backup.dir); returns its path and manifest.

    On any failure (a full disk included) no archive and no temporary file is left behind.
    """
    directory = to_dir or cfg.backup_path
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o750)
    except OSError as exc:
        raise BackupError(f"cannot create the backup directory {directory}: {exc.strerror}") from None
    source = source or source_for(cfg)
    started = time.time()
    final = _free_name(directory, label, started)
    try:
        scratch = Path(tempfile.mkdtemp(prefix=".scratch-", dir=directory))
    except OSError as exc:
        raise BackupError(f"cannot write in {directory}: {exc.strerror}") from None
    writer: ArchiveWriter | None = None
    try:
        writer = ArchiveWriter(final)
        store = source.write(writer, scratch)
        config_yaml, secrets = config_snapshot(cfg, config_source)
        writer.add_bytes("config/config.yaml", config_yaml)
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "app_version": _installed_version(), "host": socket.getfqdn(),
            "created_at": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
            "label": label, "store": store,
            "config": {"member": "config/config.yaml", "source": config_source or "",
                       "secrets_excluded": secrets,
                       "note": "secrets are not in this archive; keep /etc/credstore/studybuddy.* safe separately"},
        }
        path = writer.commit(manifest)
        writer = None
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise BackupError(f"no space left in {directory} ({exc.strerror}): the backup was not written; "
                              "free some space or use --to DIR") from None
        raise BackupError(f"the backup failed: {exc}") from None
    finally:
        if writer is not None:
            writer.abort()
        shutil.rmtree(scratch, ignore_errors=True)
    manifest["members"] = {}  # the caller only needs the summary
    log.info("backup written: %s (%.1f s)", path, time.time() - started)
    return path, manifest


def _installed_version() -> str:
    from ..health import installed_version

    try:
        return installed_version()
    except Exception:  # noqa: BLE001 - the package version is informative only
        return __version__


def select_kept(archives: list[Archive], keep_daily: int, keep_weekly: int) -> set[Path]:
    """Archives to keep: the newest of each of the last `keep_daily` days that have one, the
    newest of each of the last `keep_weekly` weeks, and every labelled one (pre-upgrade...)."""
    kept = {a.path for a in archives if a.label}
    scheduled = [a for a in archives if not a.label]  # newest first
    days: list[dt.date] = []
    weeks: list[tuple[int, int]] = []
    for archive in scheduled:
        day = archive.created.date()
        week = tuple(archive.created.isocalendar())[:2]
        if day not in days and len(days) < keep_daily:
            days.append(day)
            kept.add(archive.path)
        if week not in weeks and len(weeks) < keep_weekly:
            weeks.append(week)  # type: ignore[arg-type]
            kept.add(archive.path)
    if scheduled:
        kept.add(scheduled[0].path)
    return kept


def prune(directory: Path, keep_daily: int, keep_weekly: int) -> list[Path]:
    """Delete the archives select_kept does not keep; returns what was deleted."""
    archives = list_archives(directory)
    kept = select_kept(archives, keep_daily, keep_weekly)
    removed = []
    for archive in archives:
        if archive.path not in kept:
            archive.path.unlink(missing_ok=True)
            removed.append(archive.path)
    for stale in directory.glob(".studybuddy-*.partial"):
        # Left by a backup that was killed; a running one is younger than a day.
        if time.time() - stale.stat().st_mtime > 86400:
            stale.unlink(missing_ok=True)
    return removed


def free_bytes(directory: Path) -> int:
    probe = directory
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


__all__ = ["Archive", "create_backup", "list_archives", "prune", "select_kept", "source_for"]
