"""The daily AI request limit per student, counted per local day in ``app.timezone``.

The count lives in the store's atomic counters under ``ai_requests:<user id>:<local date>``,
so every web process shares it and a new day starts a new counter (the reset needs no job).
Administrators are exempt. ``quota.daily_ai_requests: 0`` turns the limit off.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from ..config import Config
    from ..store.base import Store


class QuotaExceeded(Exception):
    """The student has used today's AI requests; ``retry_after_seconds`` feeds a 429's Retry-After."""

    def __init__(self, limit: int, reset_at: dt.datetime, retry_after_seconds: int) -> None:
        self.limit = limit
        self.reset_at = reset_at
        self.retry_after_seconds = retry_after_seconds
        hours, rest = divmod(max(60, retry_after_seconds), 3600)
        wait = f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min"
        super().__init__(
            f"You have used all {limit} AI requests for today. The limit resets at "
            f"{reset_at:%H:%M} ({reset_at.tzname()}) on {reset_at:%Y-%m-%d}, in about {wait}."
        )


@dataclass(frozen=True)
class QuotaUsage:
    used: int
    limit: int  # 0: no limit
    reset_at: dt.datetime

    @property
    def remaining(self) -> int | None:
        return None if self.limit <= 0 else max(0, self.limit - self.used)


def _as_datetime(now: dt.datetime | float | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if isinstance(now, dt.datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return now
    return dt.datetime.fromtimestamp(float(now), dt.UTC)


def _local_day(config: Config, now: dt.datetime | float | None) -> tuple[dt.date, dt.datetime, dt.datetime]:
    """(local date, the aware instant now, the instant the next local day starts)."""
    zone = ZoneInfo(config.app.timezone)
    instant = _as_datetime(now)
    local = instant.astimezone(zone)
    tomorrow = local.date() + dt.timedelta(days=1)
    # Midnight may not exist on a DST day in some zones; normalising through UTC lands on the
    # first instant that belongs to the next day.
    reset = dt.datetime.combine(tomorrow, dt.time(0), tzinfo=zone)
    reset = reset.astimezone(dt.UTC).astimezone(zone)
    return local.date(), instant, reset


def _key(user_id: str, day: dt.date) -> str:
    return f"ai_requests:{user_id}:{day.isoformat()}"


def _exempt(user: Any) -> bool:
    return bool(getattr(user, "is_admin", False))


def check_and_count(store: Store, config: Config, user: Any, now: dt.datetime | float | None = None) -> None:
    """Count one AI request for `user`, or raise QuotaExceeded (and count nothing)."""
    limit = config.quota.daily_ai_requests
    if limit <= 0 or _exempt(user):
        return
    day, instant, reset = _local_day(config, now)
    key = _key(str(user.id), day)
    used = store.counters.incr(key)
    if used > limit:
        store.counters.incr(key, -1)  # a refused request does not count
        seconds = (reset.astimezone(dt.UTC) - instant.astimezone(dt.UTC)).total_seconds()
        raise QuotaExceeded(limit, reset, max(1, math.ceil(seconds)))


def refund(store: Store, config: Config, user: Any, now: dt.datetime | float | None = None) -> None:
    """Give back one counted request (e.g. a job that could not even be queued)."""
    if config.quota.daily_ai_requests <= 0 or _exempt(user):
        return
    day, _instant, _reset = _local_day(config, now)
    key = _key(str(user.id), day)
    if store.counters.get(key) > 0:
        store.counters.incr(key, -1)


def usage(store: Store, config: Config, user: Any, now: dt.datetime | float | None = None) -> QuotaUsage:
    """How much of today's limit `user` has used (limit 0 for exempt users and no limit)."""
    day, _instant, reset = _local_day(config, now)
    limit = 0 if _exempt(user) else max(0, config.quota.daily_ai_requests)
    used = store.counters.get(_key(str(user.id), day))
    return QuotaUsage(used=used, limit=limit, reset_at=reset)


def seconds_until_reset(config: Config, now: dt.datetime | float | None = None) -> float:
    _day, instant, reset = _local_day(config, now if now is not None else time.time())
    return (reset.astimezone(dt.UTC) - instant.astimezone(dt.UTC)).total_seconds()


def reset_today(store: Store, config: Config, user: Any, now: dt.datetime | float | None = None) -> int:
    """Give back today's AI requests (the administrator's "reset quota"); returns how many."""
    day, _instant, _reset = _local_day(config, now)
    key = _key(str(user.id), day)
    used = store.counters.get(key)
    if used > 0:
        store.counters.incr(key, -used)
    return used
