"""The daily report: the version and updates, availability per check, incidents, restarts,
queues and jobs (per day and type), disk use over time, AI usage."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..config import Config
from ..health import installed_version
from ..jobs.types import JOB_TYPES
from ..metrics.jobs import daily_key
from ..store import Store
from .mailer import Mail, render
from .updates import UpdateStatus, check_for_update

log = logging.getLogger(__name__)

STATE_KEY = "report"
DAY = 24 * 3600


def report_due(config: Config, store: Store, now: float) -> str:
    """The local date of a report that is due now, or ""."""
    zone = ZoneInfo(config.app.timezone)
    local = dt.datetime.fromtimestamp(now, zone)
    hh, _, mm = config.monitor.daily_report_time.partition(":")
    if (local.hour, local.minute) < (int(hh), int(mm)):
        return ""
    today = local.date().isoformat()
    state = store.monitor.get_state(STATE_KEY) or {}
    return "" if state.get("last_date") == today else today


def mark_sent(store: Store, date: str) -> None:
    state = store.monitor.get_state(STATE_KEY) or {}
    state["last_date"] = date
    store.monitor.set_state(STATE_KEY, state)


JOB_DAYS = 7
DISK_SAMPLES_KEPT = 30
MIB = 1024 * 1024


def jobs_per_day(config: Config, store: Store, today: dt.date, days: int = JOB_DAYS) -> list[dict[str, Any]]:
    """Per local day (newest first) and job type: jobs finished and how many of them failed.

    From the worker's day counters; the monitor's canary pings are not students' jobs."""
    out = []
    for back in range(days):
        day = (today - dt.timedelta(days=back)).isoformat()
        types = {}
        for job_type in JOB_TYPES:
            done = {o: store.counters.get(daily_key(day, job_type, o)) for o in ("succeeded", "failed", "dead")}
            retries = store.counters.get(daily_key(day, job_type, "retry"))
            total = sum(done.values())
            if total or retries:
                types[job_type] = {"done": total, "failed": done["failed"] + done["dead"], "retries": retries}
        out.append({"day": day, "types": types, "done": sum(t["done"] for t in types.values()),
                    "failed": sum(t["failed"] for t in types.values())})
    return out


def _tree_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def disk_trend(config: Config, store: Store, today: dt.date) -> dict[str, Any]:
    """Today's free space and size of the state directory, kept daily, against earlier days."""
    path = config.state_path
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return {"error": f"cannot read the disk of {path}: {exc.strerror or exc}"}
    sample = {"free_mb": usage.free // MIB, "used_mb": _tree_size(path) // MIB, "total_mb": usage.total // MIB}
    state = store.monitor.get_state(STATE_KEY) or {}
    history: dict[str, dict[str, int]] = dict(state.get("disk") or {})
    history[today.isoformat()] = sample
    kept = dict(sorted(history.items())[-DISK_SAMPLES_KEPT:])
    state["disk"] = kept
    store.monitor.set_state(STATE_KEY, state)
    out: dict[str, Any] = {**sample, "error": "", "days": 0, "free_per_day_mb": None, "used_per_day_mb": None,
                           "full_in_days": None}
    earlier = sorted((dt.date.fromisoformat(d), s) for d, s in kept.items() if d < today.isoformat())
    if earlier:
        # Against a week ago when we have it, else the oldest sample of the week, else the newest.
        week = [e for e in earlier if e[0] >= today - dt.timedelta(days=JOB_DAYS)]
        since, first = week[0] if week else earlier[-1]
        days = (today - since).days
        free_per_day = (sample["free_mb"] - first["free_mb"]) / days
        out.update(days=days, free_per_day_mb=round(free_per_day), since=since.isoformat(),
                   used_per_day_mb=round((sample["used_mb"] - first["used_mb"]) / days))
        if free_per_day < 0:
            out["full_in_days"] = int(sample["free_mb"] / -free_per_day)
    return out


def _ai_usage(store: Store, day: dt.date) -> tuple[int, int]:
    total = 0
    users = 0
    for user in store.users.list():
        used = store.counters.get(f"ai_requests:{user.id}:{day.isoformat()}")
        if used > 0:
            total += used
            users += 1
    return total, users


def build_report(config: Config, store: Store, now: float, host: str,
                 latest: dict[str, dict[str, Any]] | None = None, *, updates: UpdateStatus | None = None,
                 apt_options: Mapping[str, str] | None = None) -> Mail:
    """Render the report of the 24 hours before `now` (asking apt about updates unless told)."""
    zone = ZoneInfo(config.app.timezone)
    since = now - DAY

    def fmt(t: float) -> str:
        return dt.datetime.fromtimestamp(t, zone).strftime("%Y-%m-%d %H:%M")

    rounds = store.monitor.events(since=since, kind="round", limit=100_000)
    counts: dict[str, dict[str, int]] = {}
    for event in rounds:
        for key, status in (event.data.get("results") or {}).items():
            bucket = counts.setdefault(key, {"pass": 0, "warn": 0, "fail": 0})
            bucket[status if status in bucket else "fail"] += 1
    availability: list[dict[str, Any]] = []
    for key in sorted(counts):
        c = counts[key]
        total = sum(c.values())
        availability.append({
            "check": key, "rounds": total, "fail": c["fail"], "warn": c["warn"],
            "percent": f"{100.0 * (total - c['fail']) / total:.2f}" if total else "-",
        })
    closed = {str(e.data.get("incident")): e for e in store.monitor.events(since=since, kind="incident_close")}
    incidents = []
    for event in store.monitor.events(since=since, kind="incident_open"):
        done = closed.get(str(event.data.get("incident")))
        incidents.append({"check": event.check, "opened": fmt(event.created_at),
                          "closed": fmt(done.created_at) if done else "still open",
                          "output": str(event.data.get("output", ""))})
    restarts = [
        {"unit": str(e.data.get("unit", "")), "at": fmt(e.created_at), "check": e.check,
         "ok": bool(e.data.get("ok")), "output": str(e.data.get("output", ""))}
        for e in store.monitor.events(since=since, kind="restart")
    ]
    escalations = [
        {"check": e.check, "at": fmt(e.created_at), "reason": str(e.data.get("reason", ""))}
        for e in store.monitor.events(since=since, kind="escalation")
    ]
    latest = latest or {}
    queues = [
        {"queue": key.split("/", 1)[1], "depth": r.get("observedValue"),
         "canary_ms": latest.get(f"canary:latency/{key.split('/', 1)[1]}", {}).get("observedValue")}
        for key, r in sorted(latest.items()) if key.startswith("broker:queueDepth/")
    ]
    ai = [{"provider": key.split("/", 1)[1], "status": r.get("status"), "ms": r.get("observedValue"),
           "output": r.get("output", "")}
          for key, r in sorted(latest.items()) if key.startswith("ai:responseTime/")]
    yesterday = (dt.datetime.fromtimestamp(now, zone) - dt.timedelta(days=1)).date()
    ai_requests, ai_users = _ai_usage(store, yesterday)
    jobs = dict(sorted(store.jobs.count_by_state().items()))
    today = dt.datetime.fromtimestamp(now, zone).date()
    updates = updates or check_for_update(options=apt_options, installed_hint=installed_version())
    per_day = jobs_per_day(config, store, today)
    job_types = sorted({t for day in per_day for t in day["types"]})
    disk = disk_trend(config, store, today)
    subject = f"[StudyBuddy] Daily report {dt.datetime.fromtimestamp(now, zone).date().isoformat()}"
    if updates.newer:
        subject += f" (update {updates.candidate} available)"
    worst = min((float(str(a["percent"])) for a in availability if a["percent"] != "-"), default=100.0)
    return render(
        "report", subject, host=host, period=f"{fmt(since)} – {fmt(now)} ({config.app.timezone})",
        rounds=len(rounds), availability=availability, worst=f"{worst:.2f}", incidents=incidents,
        restarts=restarts, escalations=escalations, queues=queues, jobs=jobs, ai=ai,
        ai_requests=ai_requests, ai_users=ai_users, ai_day=yesterday.isoformat(),
        backup=_backup(config, now),
        version_line=updates.line(), update_available=updates.newer, per_day=per_day, job_types=job_types,
        disk=disk,
    )


def _backup(config: Config, now: float) -> dict[str, Any]:
    from ..backup.check import backup_status

    try:
        return backup_status(config, now)
    except OSError as exc:
        return {"dir": str(config.backup_path), "newest": "", "age_hours": None, "free_mb": None,
                "count": 0, "newest_mb": 0.0, "error": str(exc)}
