"""Translating messages that were stored in English, formatted ones included.

Job stages, job errors and document errors are written by the worker in English, sometimes
already formatted ("The document has 812 pages; the limit is 500."). Pages show them in the
student's language: an exact catalog entry wins; otherwise the text is matched against the
catalog's templates with {placeholders} and the translated template is filled in.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from flask import Flask
from flask_babel import get_locale, get_translations, gettext
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

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
    for pattern, msgid in _patterns(str(get_locale()), _template_msgids(get_translations())):
        match = pattern.fullmatch(text)
        if match:
            try:
                return str(gettext(msgid)).format(**match.groupdict())
            except (KeyError, IndexError, ValueError):
                return text
    return text


_MSGIDS: dict[int, tuple[Any, tuple[str, ...]]] = {}


def _template_msgids(translations: Any) -> tuple[str, ...]:
    """The catalog's msgids with {placeholders}, worked out once per loaded catalog."""
    known = _MSGIDS.get(id(translations))
    if known is None or known[0] is not translations:
        catalog = getattr(translations, "_catalog", {}) or {}
        known = (translations, tuple(sorted(k for k in catalog if isinstance(k, str) and "{" in k)))
        _MSGIDS[id(translations)] = known
    return known[1]


# Templates call _() a few hundred times per page. flask-babel's callables look the catalog up
# through the request context on every call; these take it from the template context, where
# `catalog_context` puts it once per render (the same newstyle rules: escaped, always %-formatted).
def _catalog_of(context: Context) -> Any:
    translations = context.get("_translations")
    return translations if translations is not None else get_translations()


@pass_context
def template_gettext(context: Context, string: str, **variables: Any) -> str:
    rv = _catalog_of(context).ugettext(string)
    if context.eval_ctx.autoescape:
        rv = Markup(rv)
    return rv % variables  # type: ignore[no-any-return]


@pass_context
def template_ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    rv = _catalog_of(context).ungettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        rv = Markup(rv)
    return rv % variables  # type: ignore[no-any-return]


def init_app(app: Flask) -> None:
    app.jinja_env.filters["tr"] = translate_stored
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)

    @app.context_processor
    def catalog_context() -> dict[str, Any]:
        return {"_translations": get_translations()}
