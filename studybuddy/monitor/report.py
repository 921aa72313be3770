"""The daily report: availability per check, incidents, restarts, queues and jobs, AI usage."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from ..config import Config
from ..store import Store
from .mailer import Mail, render

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
    store.monitor.set_state(STATE_KEY, {"last_date": date})


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
                 latest: dict[str, dict[str, Any]] | None = None) -> Mail:
    """Render the report of the 24 hours before `now`."""
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
    subject = f"[StudyBuddy] Daily report {dt.datetime.fromtimestamp(now, zone).date().isoformat()}"
    worst = min((float(str(a["percent"])) for a in availability if a["percent"] != "-"), default=100.0)
    return render(
        "report", subject, host=host, period=f"{fmt(since)} – {fmt(now)} ({config.app.timezone})",
        rounds=len(rounds), availability=availability, worst=f"{worst:.2f}", incidents=incidents,
        restarts=restarts, escalations=escalations, queues=queues, jobs=jobs, ai=ai,
        ai_requests=ai_requests, ai_users=ai_users, ai_day=yesterday.isoformat(),
        backup=_backup(config, now),
    )


def _backup(config: Config, now: float) -> dict[str, Any]:
    from ..backup.check import backup_status

    try:
        return backup_status(config, now)
    except OSError as exc:
        return {"dir": str(config.backup_path), "newest": "", "age_hours": None, "free_mb": None,
                "count": 0, "newest_mb": 0.0, "error": str(exc)}
