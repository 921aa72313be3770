"""URLs for pages: fingerprinted static files with long-lived caching, and a fast `url_for`.

Static files are linked as `css/app.<digest>.css`: the digest is of the file's bytes, so a
browser (or the service worker) may keep such a URL for a year, and a new release links new
names. The plain name still works, with revalidation.

Templates build dozens of links per page (every document row has several). The URL of a rule
depends only on its arguments, so `fast_url_for` builds each (endpoint, argument names) once
with markers and afterwards fills in quoted values; anything unusual goes to Flask's url_for.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, current_app, request, send_from_directory, url_for
from flask_wtf.csrf import generate_csrf
from werkzeug.routing import IntegerConverter, UnicodeConverter

YEAR = 365 * 24 * 3600
_FINGERPRINTED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<ext>\.[A-Za-z0-9]+)$")
_MARK = "QzMARK{}KRAMzQ"
# Characters werkzeug leaves unquoted in a path segment (UnicodeConverter.to_url).
_SAFE = "!$&'()*+,/:;=@"


def file_digest(filename: str) -> str:
    """The first 12 hex digits of the SHA-256 of a static file ('' if there is no such file)."""
    folder = current_app.static_folder or ""
    cache: dict[tuple[str, str], str] = current_app.extensions.setdefault("studybuddy.static_digests", {})
    key = (folder, filename)
    digest = cache.get(key)
    if digest is None:
        path = Path(folder) / filename
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else ""
        except OSError:
            digest = ""
        cache[key] = digest
    return digest


def fingerprinted(filename: str) -> str:
    """`css/app.css` -> `css/app.<digest>.css`."""
    digest = file_digest(filename)
    if not digest:
        return filename
    stem, dot, ext = filename.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot and "/" not in ext else f"{filename}.{digest}"


def _add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
    if endpoint == "static" and isinstance(values.get("filename"), str):
        values["filename"] = fingerprinted(values["filename"])


def send_static(filename: str) -> Response:
    """The static view: a fingerprinted name that matches the file is cached for a year."""
    match = _FINGERPRINTED.match(filename)
    immutable = False
    if match:
        plain = match["stem"] + match["ext"]
        if file_digest(plain) == match["digest"]:
            filename, immutable = plain, True
    response = send_from_directory(current_app.static_folder or "", filename, max_age=YEAR if immutable else 0)
    if immutable:
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response


def fast_url_for(endpoint: str, **values: Any) -> str:
    """url_for for the links in pages: a per-(endpoint, arguments) pattern, filled in."""
    if endpoint == "static":
        filename = values.get("filename")
        if len(values) == 1 and isinstance(filename, str):
            return _static_url(filename)
        return url_for(endpoint, **values)
    patterns: dict[Any, str | None] = current_app.extensions.setdefault("studybuddy.url_patterns", {})
    key = (endpoint, tuple(sorted(values)), request.script_root)
    pattern = patterns.get(key, "")
    if pattern == "":
        pattern = patterns[key] = _pattern(endpoint, sorted(values))
    if pattern is None:
        return url_for(endpoint, **values)
    out = pattern
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return url_for(endpoint, **values)
        text = str(value)
        out = out.replace(_MARK.format(name), text if text.isascii() and text.isalnum() else quote(text, safe=_SAFE))
    return out


def _static_url(filename: str) -> str:
    cache: dict[tuple[str, str], str] = current_app.extensions.setdefault("studybuddy.static_urls", {})
    key = (filename, request.script_root)
    found = cache.get(key)
    if found is None:
        found = cache[key] = url_for("static", filename=filename)
    return found


def _pattern(endpoint: str, names: list[str]) -> str | None:
    """The URL with a marker for each argument, if every argument is a plain path segment."""
    rules = current_app.url_map._rules_by_endpoint.get(endpoint, [])  # noqa: SLF001 - read only
    others = [f for funcs in current_app.url_default_functions.values() for f in funcs if f is not _add_fingerprint]
    if len(rules) != 1 or endpoint.startswith(".") or others:
        return None
    rule = rules[0]
    if set(names) != set(rule.arguments) or rule.defaults:
        return None
    for name in names:
        if type(rule._converters.get(name)) not in (UnicodeConverter, IntegerConverter):  # noqa: SLF001
            return None
    # A marker is a valid value for a string argument; an integer argument needs a number.
    probe: dict[str, Any] = {n: (_MARK.format(n) if type(rule._converters[n]) is UnicodeConverter else 7919)  # noqa
                             for n in names}
    built = url_for(endpoint, **probe)  # with no arguments: the constant URL
    for name, value in probe.items():
        if isinstance(value, int):
            if built.count("7919") != 1:
                return None
            built = built.replace("7919", _MARK.format(name))
    return built


def init_app(app: Flask) -> None:
    app.view_functions["static"] = send_static

    @app.context_processor
    def one_csrf_token() -> dict[str, Any]:
        """The page's forms share one token (flask-wtf signs a new copy for every call)."""
        made: list[str] = []

        def csrf_token() -> str:
            if not made:
                made.append(generate_csrf())
            return made[0]

        return {"csrf_token": csrf_token}

    app.url_defaults(_add_fingerprint)
    app.jinja_env.globals["url_for"] = fast_url_for
