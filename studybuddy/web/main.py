"""Landing page and language choice."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user

from . import LANGUAGES, get_services
from .auth import _safe_next
from .pagecache import kept_page, public_page_key

bp = Blueprint("main", __name__)


@bp.route("/")
def index() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("courses.library"))
    return kept_page(public_page_key("landing"), lambda: render_template("index.html"))


@bp.route("/language/<lang>", methods=["POST"])
def set_language(lang: str) -> Any:
    """Anonymous visitors switch without a CSRF token (so public pages need no session); a
    logged-in student's choice is saved to the account, so theirs is checked."""
    if current_user.is_authenticated:
        csrf = current_app.extensions.get("csrf")
        if csrf is not None and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()
    if lang in LANGUAGES:
        session["lang"] = lang
        if current_user.is_authenticated:
            get_services().store.users.update(current_user.id, language=lang)
    return redirect(_safe_next(request.form.get("next") or request.referrer and _path(request.referrer)))


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def init_app(app: Flask) -> None:
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(f"{__name__}.set_language")
