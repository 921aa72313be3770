"""Sign up, log in, log out, confirm an address, reset a password.

No answer here tells whether an address has an account: sign-up and "forgot my password"
answer the same page either way (the mail to the address says what is true), and a failed
log-in takes as long for an unknown address as for a known one.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import force_locale, format_timedelta
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_user, logout_user

from .. import links, sessions
from ..accounts import EMAIL_RE, MAX_PASSWORD, AccountError, authenticate, normalize_email, register, reset_password
from ..passwords import PasswordRejected, check_policy
from ..store.models import User
from ..throttle import LoginThrottle
from . import get_services
from .account_mail import absolute_url, mail_enabled, mail_language, send_account_mail

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


class SessionUser(UserMixin):
    """The logged-in account as flask-login sees it. Its id is the session's cookie secret, so
    the session and "remember me" cookies name a server-side session, not the account."""

    def __init__(self, active: sessions.ActiveSession):
        user = active.user
        self.user = user
        self.session = active.record
        self.token = active.token
        self.id = user.id
        self.email = user.email
        self.display_name = user.display_name
        self.is_admin = user.is_admin
        self.language = user.language
        self.email_verified = user.email_verified

    def get_id(self) -> str:
        return self.token


def load_user(token: str) -> SessionUser | None:
    active = sessions.resume(get_services().store, token, time.time())
    if active is None:
        # A cookie that names no live session: have flask-login delete the remember cookie too.
        session["_remember"] = "clear"
        return None
    return SessionUser(active)


def start_session(user: User, remember: bool = False) -> None:
    """A new server-side session for this browser, in a fresh cookie session."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    active = sessions.start(get_services().store, get_services().config, user, remember=remember,
                            user_agent=request.headers.get("User-Agent", ""), address=request.remote_addr or "",
                            now=time.time())
    login_user(SessionUser(active), remember=remember)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("courses.library")


def _wait_text(seconds: int) -> str:
    import datetime as dt

    return str(format_timedelta(dt.timedelta(seconds=max(seconds, 1)), threshold=1.0, add_direction=False))


def _form_value(name: str, limit: int) -> str:
    value = request.form.get(name, "")
    return value if len(value) <= limit else value[: limit + 1]


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("courses.library"))
    form = {"email": "", "display_name": ""}
    if request.method == "POST":
        form = {"email": _form_value("email", 300).strip(), "display_name": _form_value("display_name", 200)}
        password = _form_value("password", MAX_PASSWORD)
        if password != _form_value("password2", MAX_PASSWORD):
            flash(_("The two passwords do not match."), "error")
            return render_template("auth/signup.html", form=form), 400
        try:
            user, existed = register(get_services().store, form["email"], password, form["display_name"],
                                     language=session.get("lang", ""))
        except AccountError as exc:
            log.info("signup refused: %s", exc)
            flash(_(str(exc)), "error")
            return render_template("auth/signup.html", form=form), 400
        if existed:
            log.info("signup with the address of account %s", user.id)
            _mail_account_exists(user)
        else:
            _mail_verification(user)
        flash(_("Thank you! We sent a message to %(email)s. If the address is new to StudyBuddy, your "
                "account is ready: log in below and follow the link in the message to confirm the address. "
                "If it already had an account, the message tells you how to get back in.", email=user.email),
              "info")
        return redirect(url_for("auth.login", email=user.email))
    return render_template("auth/signup.html", form=form)


def _too_many(email: str, wait: int) -> Any:
    message = _("Too many failed log-ins. Please wait %(wait)s and try again.", wait=_wait_text(wait))
    flash(message, "error")
    response = make_response(render_template("auth/login.html", email=email), 429)
    response.headers["Retry-After"] = str(wait)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("courses.library"))
    email = request.args.get("email", "")[:254]
    if request.method == "POST":
        services = get_services()
        email = _form_value("email", 300).strip()
        password = _form_value("password", MAX_PASSWORD)
        address = request.remote_addr or ""
        throttle = LoginThrottle(services.store, services.config.accounts)
        wait = throttle.wait_seconds(email, address)
        if wait > 0:
            log.info("log-in refused: throttled (%ds) from %s", wait, address)
            return _too_many(email, wait)
        user = authenticate(services.store, email, password)
        if user is None:
            wait = throttle.failed(email, address)
            log.info("failed log-in from %s", address)
            if wait > 0:
                return _too_many(email, wait)
            flash(_("Wrong e-mail address or password."), "error")
            return render_template("auth/login.html", email=email), 401
        throttle.succeeded(email)
        if user.disabled:
            flash(_("This account was disabled by the administrator."), "error")
            return render_template("auth/login.html", email=email), 403
        start_session(user, remember=bool(request.form.get("remember")))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", email=email)


def leave(target: str) -> Any:
    """Log this browser out and go to `target`: the cookie session is emptied and the remember
    cookie deleted (session.clear() also drops flask-login's own "clear the remember cookie"
    flag; without this the cookie would log the next person at this computer back in)."""
    logout_user()
    session.clear()
    response = redirect(target)
    cfg = current_app.config
    response.delete_cookie(cfg.get("REMEMBER_COOKIE_NAME", "remember_token"),
                           domain=cfg.get("REMEMBER_COOKIE_DOMAIN"), path=cfg.get("REMEMBER_COOKIE_PATH", "/"))
    return response


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    if current_user.is_authenticated:
        sessions.end(get_services().store, current_user.token)
    response = leave(url_for("main.index"))
    # Tells the service worker (and the browser) to drop anything cached for this user.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


# -- mails --------------------------------------------------------------------------------------

def _lifetime(purpose: str) -> float:
    cfg = get_services().config.accounts
    return cfg.verify_link_hours * 3600.0 if purpose == links.VERIFY else cfg.reset_link_minutes * 60.0


def _link(user: User, purpose: str, endpoint: str) -> str:
    services = get_services()
    token = links.issue(services.store, services.config.web.secret_key, user, purpose, _lifetime(purpose),
                        time.time())
    return absolute_url(endpoint, token=token)


def _mail_verification(user: User) -> None:
    if not mail_enabled():
        return
    lang = mail_language(user.language)
    link = _link(user, links.VERIFY, "auth.verify")
    with force_locale(lang):
        send_account_mail(user.email, lang, _("Confirm your e-mail address"), [
            _("Hello %(name)s, welcome to StudyBuddy!", name=user.display_name),
            _("Please confirm that this address is yours. The link works once, for %(hours)s hours.",
              hours=get_services().config.accounts.verify_link_hours),
            _("If you did not sign up, ignore this message."),
        ], link, _("Confirm my address"))


def _mail_account_exists(user: User) -> None:
    if not mail_enabled():
        return
    lang = mail_language(user.language)
    link = absolute_url("auth.forgot")
    with force_locale(lang):
        send_account_mail(user.email, lang, _("You already have a StudyBuddy account"), [
            _("Someone (maybe you) tried to sign up with this address, but it already has an account."),
            _("Log in with your password. If you forgot it, you can choose a new one here."),
            _("If it was not you, ignore this message: nothing was changed."),
        ], link, _("Choose a new password"))


def _mail_reset(user: User) -> None:
    lang = mail_language(user.language)
    link = _link(user, links.RESET, "auth.reset")
    with force_locale(lang):
        send_account_mail(user.email, lang, _("Reset your StudyBuddy password"), [
            _("Someone (maybe you) asked to reset the password of this account."),
            _("The link works once, for %(minutes)s minutes. Using it logs you out everywhere.",
              minutes=get_services().config.accounts.reset_link_minutes),
            _("If it was not you, ignore this message: your password stays as it is."),
        ], link, _("Choose a new password"))


def _mail_no_account(email: str) -> None:
    lang = mail_language("")
    with force_locale(lang):
        send_account_mail(email, lang, _("Reset your StudyBuddy password"), [
            _("Someone (maybe you) asked to reset a StudyBuddy password for this address, but no account "
              "uses it. Maybe you signed up with another address?"),
            _("If it was not you, ignore this message."),
        ])


@bp.route("/forgot", methods=["GET", "POST"])
def forgot() -> Any:
    if request.method == "POST" and mail_enabled():
        email = _form_value("email", 300).strip()
        store = get_services().store
        if EMAIL_RE.match(normalize_email(email)) and len(email) <= 254:
            user = store.users.get_by_email(email)
            if user is not None and not user.disabled:
                _mail_reset(user)
            else:
                _mail_no_account(normalize_email(email))
        flash(_("If this address has an account, we sent it a link to choose a new password. "
                "The message may take a few minutes."), "info")
        return redirect(url_for("auth.forgot"))
    return render_template("auth/forgot.html", mail_enabled=mail_enabled())


LINK_PROBLEMS = {
    "invalid": "This link is not valid. Copy the whole link from the message, or ask for a new one.",
    "expired": "This link has expired. Please ask for a new one.",
    "used": "This link was already used (or a newer one was sent). Please ask for a new one if you need it.",
}


def _link_problem(problem: links.LinkProblem, purpose: str) -> Any:
    status = 410 if problem.reason in ("expired", "used") else 400
    return render_template("auth/link_problem.html", message=_(LINK_PROBLEMS[problem.reason]),
                           purpose=purpose), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> Any:
    services = get_services()
    secret = services.config.web.secret_key
    lifetime = _lifetime(links.RESET)
    try:
        links.check(services.store, secret, token, links.RESET, lifetime, time.time())
    except links.LinkProblem as problem:
        return _link_problem(problem, links.RESET)
    if request.method == "GET":
        return render_template("auth/reset.html", token=token, error="")
    password = _form_value("password", MAX_PASSWORD)
    if password != _form_value("password2", MAX_PASSWORD):
        return render_template("auth/reset.html", token=token, error=_("The two passwords do not match.")), 400
    try:
        record = links.check(services.store, secret, token, links.RESET, lifetime, time.time())
        user = services.store.users.get(record.user_id)
        check_policy(password, user.email if user else "")
        links.consume(services.store, secret, token, links.RESET, lifetime, time.time())
        reset_password(services.store, record.user_id, password)
    except PasswordRejected as exc:
        return render_template("auth/reset.html", token=token, error=_(str(exc))), 400
    except links.LinkProblem as problem:
        return _link_problem(problem, links.RESET)
    except AccountError as exc:
        return render_template("auth/reset.html", token=token, error=_(str(exc))), 400
    log.info("password of %s reset by link", record.user_id)
    response = leave(url_for("auth.login"))
    flash(_("Your password was changed and you were logged out everywhere. Log in with the new password."),
          "info")
    return response


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify(token: str) -> Any:
    services = get_services()
    secret = services.config.web.secret_key
    lifetime = _lifetime(links.VERIFY)
    try:
        if request.method == "GET":
            # A mail scanner may open the link: confirming takes the button (a POST).
            links.check(services.store, secret, token, links.VERIFY, lifetime, time.time())
            return render_template("auth/verify.html", token=token)
        record = links.consume(services.store, secret, token, links.VERIFY, lifetime, time.time())
    except links.LinkProblem as problem:
        return _link_problem(problem, links.VERIFY)
    services.store.users.update(record.user_id, email_verified=True)
    log.info("address of %s confirmed", record.user_id)
    flash(_("Thank you: your e-mail address is confirmed."), "info")
    return redirect(url_for("courses.library") if current_user.is_authenticated else url_for("auth.login"))


def resend_verification(user: User) -> bool:
    """Send a new confirmation link to a logged-in student (from the settings page)."""
    if not mail_enabled() or user.email_verified:
        return False
    _mail_verification(user)
    return True
