"""The backup health check: how old the newest archive is, how much room is left for the next."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .create import free_bytes, list_archives

if TYPE_CHECKING:
    from ..config import Config
    from ..checks import CheckResult, HealthContext

MIB = 1024 * 1024


def backup_status(cfg: Config, now: float | None = None) -> dict[str, Any]:
    """Facts for the check and the daily report: directory, newest archive, its age, free space."""
    now = time.time() if now is None else now
    directory = cfg.backup_path
    archives = list_archives(directory)
    newest = archives[0] if archives else None
    status: dict[str, Any] = {"dir": str(directory), "count": len(archives), "newest": "", "age_hours": None,
                              "newest_mb": 0.0, "free_mb": None, "error": ""}
    if newest:
        stat = newest.path.stat()
        status.update(newest=newest.path.name, age_hours=round(max(now - stat.st_mtime, 0) / 3600, 1),
                      newest_mb=round(stat.st_size / MIB, 1))
    try:
        status["free_mb"] = free_bytes(directory) // MIB
    except OSError as exc:
        status["error"] = f"{type(exc).__name__}: {exc.strerror}"
    return status


def _empty_for_hours(directory: Path, now: float) -> float | None:
    """How long the (archive-less) backup directory has been as it is: since it was made, or since
    its last archive went. None when it is not there."""
    try:
        return max(now - directory.stat().st_mtime, 0) / 3600
    except OSError:
        return None


def check_backup(ctx: HealthContext) -> list[CheckResult]:
    from ..checks import CheckResult

    cfg = ctx.config
    s = backup_status(cfg, ctx.clock())
    results = []
    limit = cfg.backup.max_age_hours
    waiting = _empty_for_hours(cfg.backup_path, now=ctx.clock()) if s["age_hours"] is None else None
    if waiting is not None and waiting <= limit:
        # A fresh installation: the directory came with the package and the nightly timer has not
        # run yet. Nothing is late until max_age_hours have passed without a first archive.
        results.append(CheckResult("backup:age", "pass", None, "h",
                                   f"no backup yet; the first is due within {limit} h of the installation"))
    elif s["age_hours"] is None:
        results.append(CheckResult("backup:age", "warn", None, "h", f"no backup yet in {s['dir']}"))
    elif s["age_hours"] > limit:
        results.append(CheckResult("backup:age", "fail", s["age_hours"], "h",
                                   f"the newest backup is older than {limit} h: is studybuddy-backup.timer "
                                   "running? (systemctl status studybuddy-backup.service)"))
    else:
        results.append(CheckResult("backup:age", "pass", s["age_hours"], "h"))
    free, warn = s["free_mb"], cfg.backup.disk_free_warn_mb
    if free is None:
        results.append(CheckResult("backup:diskFree", "fail", output=s["error"]))
    elif free < warn / 10 or free < s["newest_mb"]:
        results.append(CheckResult("backup:diskFree", "fail", int(free), "MiB",
                                   f"only {free} MiB free for backups in {s['dir']}: the next one may not fit"))
    elif free < warn or free < 2 * s["newest_mb"]:
        results.append(CheckResult("backup:diskFree", "warn", int(free), "MiB",
                                   f"less than {warn} MiB (or two backups) free in {s['dir']}"))
    else:
        results.append(CheckResult("backup:diskFree", "pass", int(free), "MiB"))
    return results
