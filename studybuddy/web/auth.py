"""Sign up, log in, log out."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_user, logout_user

from ..accounts import AccountError, authenticate, create_user
from ..store.models import User
from . import get_services

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


class SessionUser(UserMixin):
    """The logged-in account as flask-login sees it."""

    def __init__(self, user: User):
        self.user = user
        self.id = user.id
        self.email = user.email
        self.display_name = user.display_name
        self.is_admin = user.is_admin
        self.language = user.language

    def get_id(self) -> str:
        return self.user.id


def load_user(user_id: str) -> SessionUser | None:
    user = get_services().store.users.get(user_id)
    return SessionUser(user) if user else None


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("courses.library")


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("courses.library"))
    form = {"email": "", "display_name": ""}
    if request.method == "POST":
        form = {"email": request.form.get("email", ""), "display_name": request.form.get("display_name", "")}
        password = request.form.get("password", "")
        if password != request.form.get("password2", password):
            flash(_("The two passwords do not match."), "error")
            return render_template("auth/signup.html", form=form), 400
        try:
            user = create_user(get_services().store, form["email"], password, form["display_name"],
                               language=session.get("lang", ""))
        except AccountError as exc:
            log.info("signup refused: %s", exc)
            flash(_(str(exc)), "error")
            return render_template("auth/signup.html", form=form), 400
        session.clear()
        login_user(SessionUser(user))
        return redirect(url_for("courses.library"))
    return render_template("auth/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("courses.library"))
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "")
        user = authenticate(get_services().store, email, request.form.get("password", ""))
        if user is None:
            log.info("failed login for %r from %s", email[:80], request.remote_addr)
            flash(_("Wrong e-mail address or password."), "error")
            return render_template("auth/login.html", email=email), 401
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        login_user(SessionUser(user), remember=bool(request.form.get("remember")))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", email=email)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    logout_user()
    session.clear()
    response = redirect(url_for("main.index"))
    # session.clear() also drops flask-login's own "clear the remember cookie" flag, so the
    # cookie is deleted here; otherwise it would log the next person at this computer back in.
    cfg = current_app.config
    response.delete_cookie(cfg.get("REMEMBER_COOKIE_NAME", "remember_token"),
                           domain=cfg.get("REMEMBER_COOKIE_DOMAIN"), path=cfg.get("REMEMBER_COOKIE_PATH", "/"))
    # Tells the service worker (and the browser) to drop anything cached for this user.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
