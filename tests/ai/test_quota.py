"""The daily AI request quota: counted per local day in the configured zone, admins exempt."""

from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from studybuddy.ai.quota import QuotaExceeded, check_and_count, refund, reset_today, seconds_until_reset, usage
from studybuddy.config import Config
from studybuddy.store.models import User

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def qcfg(cfg: Config) -> Config:
    return cfg.replace(quota={"daily_ai_requests": 3}, app={"timezone": "Asia/Jerusalem"})


def test_limit_then_clear_refusal(qcfg: Config, store: Any, users: dict[str, User]) -> None:
    alice = users["alice"]
    now = at(2026, 1, 15, 12, 0)  # 14:00 in Jerusalem (UTC+2 in winter)
    for _ in range(3):
        check_and_count(store, qcfg, alice, now)
    with pytest.raises(QuotaExceeded) as info:
        check_and_count(store, qcfg, alice, now)
    exc = info.value
    assert exc.limit == 3
    assert exc.reset_at == dt.datetime(2026, 1, 16, 0, 0, tzinfo=exc.reset_at.tzinfo)
    assert exc.reset_at.utcoffset() == dt.timedelta(hours=2)
    assert exc.retry_after_seconds == 10 * 3600
    assert str(exc) == (
        "You have used all 3 AI requests for today. The limit resets at 00:00 (IST) on 2026-01-16, "
        "in about 10 h 0 min."
    )
    # A refused request is not counted; another student has their own allowance.
    assert usage(store, qcfg, alice, now).used == 3
    assert usage(store, qcfg, alice, now).remaining == 0
    check_and_count(store, qcfg, users["bob"], now)


def test_reset_at_local_midnight_not_utc_midnight(qcfg: Config, store: Any, users: dict[str, User]) -> None:
    alice = users["alice"]
    before = at(2026, 1, 15, 21, 59, 59)  # 23:59:59 in Jerusalem
    for _ in range(3):
        check_and_count(store, qcfg, alice, before)
    with pytest.raises(QuotaExceeded) as info:
        check_and_count(store, qcfg, alice, before)
    assert info.value.retry_after_seconds == 1
    # 00:00 in Jerusalem is still 2026-01-15 in UTC, and the new day has begun.
    check_and_count(store, qcfg, alice, at(2026, 1, 15, 22, 0, 0))
    assert usage(store, qcfg, alice, at(2026, 1, 15, 22, 0, 0)).used == 1


def test_the_configured_zone_decides(qcfg: Config, store: Any, users: dict[str, User]) -> None:
    ny = qcfg.replace(app={"timezone": "America/New_York"})
    alice = users["alice"]
    # 23:00 UTC on Jan 15 is 18:00 in New York: still Jan 15 there.
    for _ in range(3):
        check_and_count(store, ny, alice, at(2026, 1, 15, 12, 0))
    with pytest.raises(QuotaExceeded) as info:
        check_and_count(store, ny, alice, at(2026, 1, 15, 23, 0))
    assert info.value.reset_at.isoformat() == "2026-01-16T00:00:00-05:00"
    # 05:00 UTC on Jan 16 is midnight in New York.
    check_and_count(store, ny, alice, at(2026, 1, 16, 5, 0))


def test_reset_across_a_dst_change(qcfg: Config) -> None:
    # Jerusalem moves to summer time on 2026-03-27 at 02:00; the day is 23 hours long.
    # 22:00 UTC on Mar 26 is midnight (UTC+2) starting Mar 27; the next midnight is 21:00 UTC.
    assert seconds_until_reset(qcfg, at(2026, 3, 26, 22, 0)) == 23 * 3600
    assert seconds_until_reset(qcfg, at(2026, 3, 27, 20, 0)) == 3600  # 23:00 summer time


def test_admins_are_exempt(qcfg: Config, store: Any, users: dict[str, User]) -> None:
    charlie = users["charlie"]
    assert charlie.is_admin
    for _ in range(10):
        check_and_count(store, qcfg, charlie, at(2026, 1, 15, 12, 0))
    assert usage(store, qcfg, charlie, at(2026, 1, 15, 12, 0)).remaining is None


def test_zero_turns_the_limit_off(qcfg: Config, store: Any, users: dict[str, User]) -> None:
    off = qcfg.replace(quota={"daily_ai_requests": 0})
    now = at(2026, 1, 15, 12, 0)
    for _ in range(10):
        check_and_count(store, off, users["alice"], now)  # never refused
    assert usage(store, off, users["alice"], now).remaining is None
    # Nothing was counted either: turning the limit back on starts from a clean day.
    assert usage(store, qcfg, users["alice"], now).used == 0
    for _ in range(3):
        check_and_count(store, qcfg, users["alice"], now)
    with pytest.raises(QuotaExceeded):
        check_and_count(store, qcfg, users["alice"], now)


def test_refund(qcfg: Config, store: Any, users: dict[str, User]) -> None:
    alice, now = users["alice"], at(2026, 1, 15, 12, 0)
    for _ in range(3):
        check_and_count(store, qcfg, alice, now)
    refund(store, qcfg, alice, now)
    check_and_count(store, qcfg, alice, now)
    refund(store, qcfg, alice, at(2026, 1, 20, 12, 0))  # nothing counted that day: stays at 0
    assert usage(store, qcfg, alice, at(2026, 1, 20, 12, 0)).used == 0


def test_epoch_seconds_and_naive_datetimes(qcfg: Config, store: Any, users: dict[str, User]) -> None:
    check_and_count(store, qcfg, users["alice"], at(2026, 1, 15, 12, 0).timestamp())
    assert usage(store, qcfg, users["alice"], at(2026, 1, 15, 12, 0)).used == 1
    with pytest.raises(ValueError, match="timezone-aware"):
        check_and_count(store, qcfg, users["alice"], dt.datetime(2026, 1, 15, 12, 0))


def test_concurrent_requests_never_exceed_the_limit(cfg: Config, store: Any, users: dict[str, User]) -> None:
    limited = cfg.replace(quota={"daily_ai_requests": 25})
    now = at(2026, 1, 15, 12, 0)
    allowed: list[int] = []
    refused: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            try:
                check_and_count(store, limited, users["alice"], now)
            except QuotaExceeded:
                with lock:
                    refused.append(1)
            else:
                with lock:
                    allowed.append(1)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 25 and len(refused) == 35
    assert usage(store, limited, users["alice"], now).used == 25


def test_a_limit_of_one_allows_one(qcfg: Config, store: Any, users: dict[str, User]) -> None:
    one = qcfg.replace(quota={"daily_ai_requests": 1})
    now = at(2026, 1, 15, 12, 0)
    check_and_count(store, one, users["alice"], now)
    with pytest.raises(QuotaExceeded):
        check_and_count(store, one, users["alice"], now)
    # The refund of the only request gives it back.
    refund(store, one, users["alice"], now)
    assert usage(store, one, users["alice"], now).used == 0
    check_and_count(store, one, users["alice"], now)


def test_a_refund_gives_back_exactly_one(qcfg: Config, store: Any, users: dict[str, User]) -> None:
    now = at(2026, 1, 15, 12, 0)
    for _ in range(3):
        check_and_count(store, qcfg, users["alice"], now)
    refund(store, qcfg, users["alice"], now)
    assert usage(store, qcfg, users["alice"], now).used == 2


def test_with_the_quota_off_a_refund_changes_nothing(qcfg: Config, store: Any, users: dict[str, User]) -> None:
    now = at(2026, 1, 15, 12, 0)
    for _ in range(2):
        check_and_count(store, qcfg, users["alice"], now)
    refund(store, qcfg.replace(quota={"daily_ai_requests": 0}), users["alice"], now)
    assert usage(store, qcfg, users["alice"], now).used == 2


def test_usage_says_when_the_day_resets(qcfg: Config, store: Any, users: dict[str, User]) -> None:
    found = usage(store, qcfg, users["alice"], at(2026, 1, 15, 12, 0))
    assert found.reset_at.isoformat() == "2026-01-16T00:00:00+02:00"
    assert (found.used, found.limit, found.remaining) == (0, 3, 3)


def test_a_naive_time_is_refused(qcfg: Config, store: Any, users: dict[str, User]) -> None:
    with pytest.raises(ValueError) as refused:
        check_and_count(store, qcfg, users["alice"], dt.datetime(2026, 1, 15, 12, 0))
    assert str(refused.value) == "now must be timezone-aware"
    assert usage(store, qcfg, users["alice"], at(2026, 1, 15, 12, 0)).used == 0


def test_the_administrators_reset_gives_back_todays_requests_only(qcfg: Config, store: Any,
                                                                   users: dict[str, User]) -> None:
    alice, bob = users["alice"], users["bob"]
    yesterday, today = at(2026, 1, 14, 12, 0), at(2026, 1, 15, 12, 0)
    for _ in range(2):
        check_and_count(store, qcfg, alice, yesterday)
    for _ in range(3):
        check_and_count(store, qcfg, alice, today)
    check_and_count(store, qcfg, bob, today)
    assert reset_today(store, qcfg, alice, today) == 3
    assert usage(store, qcfg, alice, today).used == 0
    assert usage(store, qcfg, alice, yesterday).used == 2 and usage(store, qcfg, bob, today).used == 1
    # Nothing used: nothing given back, and the count does not go below zero.
    assert reset_today(store, qcfg, alice, today) == 0
    assert usage(store, qcfg, alice, today).used == 0
    # One used: that one comes back.
    assert reset_today(store, qcfg, bob, today) == 1
    assert usage(store, qcfg, bob, today).used == 0
    for _ in range(3):
        check_and_count(store, qcfg, alice, today)
    with pytest.raises(QuotaExceeded):
        check_and_count(store, qcfg, alice, today)


def test_a_caller_that_is_not_known_to_be_an_admin_is_counted(qcfg: Config, store: Any) -> None:
    """Exemption needs an explicit is_admin; anything else (a record without the flag) is limited."""
    stranger = SimpleNamespace(id="no-flag")
    now = at(2026, 1, 15, 12, 0)
    for _ in range(3):
        check_and_count(store, qcfg, stranger, now)
    with pytest.raises(QuotaExceeded):
        check_and_count(store, qcfg, stranger, now)
    assert usage(store, qcfg, stranger, now).limit == 3


def test_timestamps_mean_the_same_instant_whatever_the_process_zone(
        qcfg: Config, store: Any, users: dict[str, User], monkeypatch: pytest.MonkeyPatch) -> None:
    """A float `now` is a Unix time: the answer must not depend on the process's TZ."""
    import time

    stamp = at(2026, 1, 15, 21, 59, 59).timestamp()  # 23:59:59 in Jerusalem
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        assert seconds_until_reset(qcfg, stamp) == 1
        assert usage(store, qcfg, users["alice"], stamp).reset_at.isoformat() == "2026-01-16T00:00:00+02:00"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize("seconds, wait", [(1, "1 min"), (59 * 60 + 30, "59 min"), (3600, "1 h 0 min"),
                                           (2 * 3600 + 60, "2 h 1 min"), (2 * 3600 + 125, "2 h 2 min"),
                                           (2 * 3600 + 3599, "2 h 59 min")])
def test_the_refusal_says_how_long_to_wait(seconds: int, wait: str) -> None:
    reset = dt.datetime(2026, 1, 16, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=2), "IST"))
    exc = QuotaExceeded(5, reset, seconds)
    assert (exc.limit, exc.reset_at, exc.retry_after_seconds) == (5, reset, seconds)
    assert str(exc) == ("You have used all 5 AI requests for today. The limit resets at 00:00 (IST) on "
                        f"2026-01-16, in about {wait}.")
