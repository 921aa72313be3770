"""Whole pages kept in memory: the anonymous landing page (one per language) and the course page
of one student (the busiest page there is).

A page is answered from memory only while everything it shows is named by its key. For the
course page:
- the store's change counter for what the page reads (`CourseStamp.version`, moved by every write
  to the course, its documents, jobs, results and items, whichever process makes it);
- the account fields the page shows, the server-side session and the session's CSRF secret (a new
  login or another browser never gets this one's page or token);
- the language, the address with its query, and the minute (times read "5 minutes ago").

Never kept: a page with a message waiting to be shown (a flash) and any page while templates
reload (development); nor a course page whose course has a job queued or running (its rows show
the place in the queue and the time so far) or whose store keeps no change counter (MongoDB).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

from flask import Flask, Response, current_app, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ..store.base import CourseStamp
from .fragments import FragmentCache

EXTENSION = "studybuddy.pages"
# About 55 KB a course page: a few MB at most.
SIZE = 128


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = FragmentCache[bytes](SIZE)


def _keepable() -> bool:
    return "_flashes" not in session and not current_app.jinja_env.auto_reload


def public_page_key(name: str) -> tuple[Hashable, ...] | None:
    """The key of a page that holds nothing personal: one copy per language."""
    return (name, str(get_locale())) if _keepable() else None


def course_page_key(course_id: str, stamp: CourseStamp) -> tuple[Hashable, ...] | None:
    """The key of this request's course page, or None when it must be rendered afresh."""
    if stamp.version is None or stamp.busy or not _keepable():
        return None
    csrf_secret = session.get("csrf_token")
    if csrf_secret is None:
        generate_csrf()  # what the page's forms would do first: the session's secret, then the key
        csrf_secret = session.get("csrf_token")
    user = current_user._get_current_object()  # type: ignore[attr-defined]  # one lookup, not seven
    return ("course", course_id, stamp.version, user.id, user.token, user.display_name, user.is_admin,
            user.language, user.email_verified, csrf_secret, str(get_locale()), request.full_path, _minute())


def _minute() -> int:
    return int(time.time() // 60)


def kept_page(key: tuple[Hashable, ...] | None, render: Callable[[], str]) -> Any:
    """The page under `key` if it is kept, else `render()` (kept under the key when there is one).
    Kept pages are kept encoded, so an answer from memory is not encoded again."""
    if key is None:
        return render()
    pages: FragmentCache[bytes] = current_app.extensions[EXTENSION]
    return Response(pages.get(key, lambda: render().encode()), mimetype="text/html")
