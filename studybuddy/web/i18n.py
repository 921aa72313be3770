"""Translating messages that were stored in English, formatted ones included.

Job stages, job errors and document errors are written by the worker in English, sometimes
already formatted ("The document has 812 pages; the limit is 500."). Pages show them in the
student's language: an exact catalog entry wins; otherwise the text is matched against the
catalog's templates with {placeholders} and the translated template is filled in.
"""

from __future__ import annotations

import re
from functools import lru_cache

from flask import Flask
from flask_babel import get_locale, get_translations, gettext

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@lru_cache(maxsize=8)
def _patterns(locale: str, msgids: tuple[str, ...]) -> list[tuple[re.Pattern[str], str]]:
    out: list[tuple[re.Pattern[str], str]] = []
    for msgid in msgids:
        names = _PLACEHOLDER.findall(msgid)
        if not names or len(set(names)) != len(names):
            continue
        parts = _PLACEHOLDER.split(msgid)
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        out.append((re.compile(regex, re.DOTALL), msgid))
    return out


def translate_stored(text: str | None) -> str:
    """`text` in the current language (unchanged if the catalogs do not know it)."""
    if not text:
        return ""
    translated = gettext(text)
    if translated != text:
        return str(translated)
    catalog = getattr(get_translations(), "_catalog", {}) or {}
    msgids = tuple(sorted(k for k in catalog if isinstance(k, str) and "{" in k))
    for pattern, msgid in _patterns(str(get_locale()), msgids):
        match = pattern.fullmatch(text)
        if match:
            try:
                return str(gettext(msgid)).format(**match.groupdict())
            except (KeyError, IndexError, ValueError):
                return text
    return text


def init_app(app: Flask) -> None:
    app.jinja_env.filters["tr"] = translate_stored
