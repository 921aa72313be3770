"""Retention of daily and weekly archives; the monitor's backup check and the daily report."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

from studybuddy.backup.create import list_archives, prune, select_kept
from studybuddy.health import CHECKS, HealthContext
from studybuddy.monitor.report import build_report
from tests.conftest import make_config


def _archive(directory: Path, when: dt.datetime, label: str = "") -> Path:
    name = f"studybuddy-{when:%Y%m%d-%H%M%S}{'-' + label if label else ''}.tar.gz"
    path = directory / name
    path.write_bytes(b"x")
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def test_retention_keeps_n_daily_and_m_weekly_and_every_labelled(tmp_path: Path) -> None:
    start = dt.datetime(2026, 11, 30, 2, 30, tzinfo=dt.UTC)
    made = [_archive(tmp_path, start - dt.timedelta(days=d, hours=h)) for d in range(40) for h in (0, 1)]
    upgrade = _archive(tmp_path, start - dt.timedelta(days=60), "pre-upgrade-0.1.0")
    (tmp_path / "not-ours.tar.gz").write_bytes(b"y")
    removed = prune(tmp_path, keep_daily=7, keep_weekly=4)
    left = list_archives(tmp_path)
    days = {a.created.date() for a in left if not a.label}
    assert len([a for a in left if not a.label]) == len(days), "one archive per day"
    # The 7 newest days, each by its newest archive, plus the newest of each of 4 weeks.
    assert {start.date() - dt.timedelta(days=d) for d in range(7)} <= days
    assert len(days) <= 7 + 4
    weeks = {tuple(a.created.isocalendar())[:2] for a in left if not a.label}
    assert len(weeks) >= 4
    assert upgrade.exists() and (tmp_path / "not-ours.tar.gz").exists()
    assert made[0].exists() and not made[1].exists()  # the newest of its day is kept, the older goes
    assert len(removed) == len(made) - len([a for a in left if not a.label])


def test_select_kept_with_no_weeklies_keeps_only_the_days() -> None:
    from studybuddy.backup.create import Archive

    start = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    archives = [Archive(Path(f"a{d}"), start - dt.timedelta(days=d), "") for d in range(10)]
    assert select_kept(archives, 3, 0) == {Path("a0"), Path("a1"), Path("a2")}


def _results(cfg: Any, services: Any, now: float | None = None) -> dict[str, Any]:
    ctx = HealthContext(cfg, services, clock=lambda: now or time.time())
    return {r.name: r for r in CHECKS["backup"].fn(ctx)}


def test_backup_check_age_and_free_space(tmp_path: Path, services: Any) -> None:
    cfg = make_config(tmp_path, backup={"dir": str(tmp_path / "b"), "max_age_hours": 26})
    results = _results(cfg, services)
    assert results["backup:age"].status == "warn" and "no backup yet" in results["backup:age"].output
    assert results["backup:diskFree"].status == "pass" and results["backup:diskFree"].observed_unit == "MiB"
    (tmp_path / "b").mkdir()
    now = time.time()
    _archive(tmp_path / "b", dt.datetime.fromtimestamp(now - 30 * 3600, dt.UTC))
    stale = _results(cfg, services, now)["backup:age"]
    assert stale.status == "fail" and stale.observed_value == 30.0 and "studybuddy-backup" in stale.output
    _archive(tmp_path / "b", dt.datetime.fromtimestamp(now - 2 * 3600, dt.UTC))
    assert _results(cfg, services, now)["backup:age"].status == "pass"
    huge = make_config(tmp_path, backup={"dir": str(tmp_path / "b"), "disk_free_warn_mb": 10**12})
    assert _results(huge, services, now)["backup:diskFree"].status == "fail"


def test_daily_report_shows_the_newest_backup_and_free_space(tmp_path: Path, services: Any) -> None:
    cfg = make_config(tmp_path, backup={"dir": str(tmp_path / "b")})
    (tmp_path / "b").mkdir()
    now = time.time()
    path = _archive(tmp_path / "b", dt.datetime.fromtimestamp(now - 3 * 3600, dt.UTC))
    mail = build_report(cfg, services.store, now, "host.example")
    assert "BACKUPS" in mail.text and path.name in mail.text and "3.0 h ago" in mail.text
    assert "MiB free" in mail.text and path.name in mail.html
    empty = make_config(tmp_path, backup={"dir": str(tmp_path / "none")})
    assert "no backup yet" in build_report(empty, services.store, now, "host.example").text
