"""Dates, times and numbers in the student's language (Babel: he-IL and en).

`ts|when` gives `<time datetime="ISO 8601">` with a relative text ("לפני 5 דקות", "5 minutes
ago") and the full date and time as its title; `ts|datetime_text` the full text alone;
`n|number` a number with the locale's grouping. Times are shown in the configured time zone.
"""

from __future__ import annotations

import datetime as dt
import time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time, format_timedelta
from babel.numbers import format_decimal
from flask import Flask
from flask_babel import get_locale
from markupsafe import Markup, escape

from . import get_services

LOCALES = {"he": "he_IL", "en": "en"}


@lru_cache(maxsize=8)
def _locale(lang: str) -> Locale:
    return Locale.parse(LOCALES.get(lang, lang or "he_IL"))


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _current() -> tuple[Locale, ZoneInfo]:
    lang = str(get_locale() or get_services().config.app.default_language)
    return _locale(lang.split("_")[0]), _zone(get_services().config.app.timezone)


def _moment(timestamp: Any, zone: ZoneInfo) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(float(timestamp), zone)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


# Babel formats slowly (a pattern per call); pages show the same minutes and the same "n minutes
# ago" again and again, so both are kept per language.
@lru_cache(maxsize=4096)
def _minute_text(locale: Locale, zone: ZoneInfo, minute: int) -> str:
    moment = dt.datetime.fromtimestamp(minute * 60, zone)
    return f"{format_date(moment, 'medium', locale=locale)}, {format_time(moment, 'short', locale=locale)}"


@lru_cache(maxsize=4096)
def _relative(locale: Locale, delta: int) -> str:
    return str(format_timedelta(dt.timedelta(seconds=delta), add_direction=True, threshold=1.0, locale=locale))


def relative_bucket(delta: float) -> int:
    """Seconds rounded to the unit Babel will name: minutes within the hour, hours within the day..."""
    if abs(delta) < 45:
        delta = -45 if delta <= 0 else 45  # "less than a minute" reads as a minute
    size = 60 if abs(delta) < 3600 else 3600 if abs(delta) < 86400 else 86400
    return int(round(delta / size) * size)


def datetime_text(timestamp: Any) -> str:
    """"30 Nov 2026, 4:52" style, in the student's language."""
    locale, zone = _current()
    try:
        return _minute_text(locale, zone, int(float(timestamp) // 60))
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def relative_text(timestamp: Any, now: float | None = None) -> str:
    """"5 minutes ago" / "לפני 5 דקות"."""
    locale, _zone_ = _current()
    try:
        delta = float(timestamp) - (time.time() if now is None else now)
    except (TypeError, ValueError):
        return ""
    return _relative(locale, relative_bucket(delta))


def when(timestamp: Any) -> Markup:
    locale, zone = _current()
    try:
        seconds = float(timestamp)
        moment = dt.datetime.fromtimestamp(seconds, zone)
    except (TypeError, ValueError, OverflowError, OSError):
        return Markup("")
    delta = seconds - time.time()
    full = _minute_text(locale, zone, int(seconds // 60))
    return Markup(f'<time datetime="{moment.isoformat(timespec="seconds")}" title="{escape(full)}">'
                  f'{escape(_relative(locale, relative_bucket(delta)))}</time>')


def number(value: Any) -> str:
    locale, _zone_ = _current()
    try:
        return str(format_decimal(value, locale=locale))
    except (TypeError, ValueError, ArithmeticError):
        return str(value)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(when=when, datetime_text=datetime_text, number=number)
