"""The web application: create_app(config) builds it; views stay thin over the services."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request, session
from babel import Locale
from flask_babel import Babel, get_locale
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..config import Config
from ..services import Services
from . import templating
from .cookies import KeptCookieSessions

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent.parent
LANGUAGES = ("he", "en")


def get_services() -> Services:
    return current_app.extensions["studybuddy"]  # type: ignore[no-any-return]


# Parsed once: flask-babel parses whatever the selector returns on every request, unless it is
# already a Locale.
_LOCALES = {lang: Locale.parse(lang) for lang in LANGUAGES}


def _select_locale() -> Locale:
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    if user is not None and getattr(user, "is_authenticated", False) and user.language in LANGUAGES:
        return _LOCALES[user.language]
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return _LOCALES[chosen]
    cfg: Config = get_services().config
    return _LOCALES[cfg.app.default_language]


class StudyBuddyFlask(Flask):
    """Flask, minus a cost paid on every request: it asks `inspect` whether each hook and view is a
    coroutine function each time it calls one. The answer for a function never changes."""

    _sync: dict[Any, Any]

    def ensure_sync(self, func: Any) -> Any:
        known = self.__dict__.setdefault("_sync", {})
        made = known.get(func)
        if made is None:
            made = known[func] = super().ensure_sync(func)
        return made


def create_app(config: Config, services: Services | None = None) -> Flask:
    """Build the app from a validated config. Opens the store (migrations) unless given services."""
    app = StudyBuddyFlask(
        "studybuddy",
        template_folder=str(PACKAGE_DIR / "templates"),
        static_folder=str(PACKAGE_DIR / "static"),
        static_url_path="/static",
    )
    app.jinja_environment = templating.LocalizedEnvironment  # before anything builds app.jinja_env
    if not config.web.secret_key:
        raise ValueError("web.secret_key is empty: the CLI creates one in the state directory")
    app.config.update(_flask_settings(config))
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["studybuddy"] = services or Services(config)

    CSRFProtect(app)
    app.session_interface = KeptCookieSessions()
    Babel(app, locale_selector=_select_locale)
    _init_login(app)
    _register_areas(app)
    _init_responses(app, config)
    return app


def _flask_settings(config: Config) -> dict[str, Any]:
    return dict(
        SECRET_KEY=config.web.secret_key,
        SESSION_COOKIE_NAME="studybuddy_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.web.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=config.web.secure_cookies,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=config.web.session_days),
        # The remember cookie names a server-side session that ends by itself (sessions.py).
        REMEMBER_COOKIE_DURATION=dt.timedelta(days=config.web.remember_days),
        # Per-file limit plus multipart overhead; the upload view checks each file.
        MAX_CONTENT_LENGTH=config.web.max_upload_mb * 1024 * 1024 + 256 * 1024,
        WTF_CSRF_HEADERS=["X-CSRF-Token"],
        WTF_CSRF_TIME_LIMIT=24 * 3600,
        BABEL_DEFAULT_LOCALE=config.app.default_language,
        BABEL_TRANSLATION_DIRECTORIES=str(PACKAGE_DIR / "translations"),
        JSON_AS_ASCII=False,
    )


def _init_login(app: Flask) -> None:
    from . import errors
    from .auth import load_user

    login = LoginManager(app)
    login.login_view = "auth.login"
    login.login_message = ""
    login.user_loader(load_user)

    @login.unauthorized_handler
    def unauthorized() -> Any:
        from flask import redirect, url_for

        if errors.wants_json():
            return errors.json_error(401, errors.MESSAGES[401])
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _register_areas(app: Flask) -> None:
    """Every blueprint, then every module's init_app (template helpers, hooks, error pages)."""
    from . import admin, api, auth, bidi, courses, dates, decks, documents, errors, guards, health, i18n, icons
    from . import labels, main, metrics, openapi, pagecache, pwa, review, review_stats, settings, tools, urls
    from . import work

    for area in (main, auth, courses, api, health, documents, tools, review, settings, pwa, admin, openapi, work):
        app.register_blueprint(area.bp)
    for blueprint in (decks.bp, review_stats.stats_bp, review_stats.settings_bp):
        app.register_blueprint(blueprint)
    for module in (errors, i18n, labels, urls, documents, tools, pwa, guards, icons, dates, bidi, main, work,
                   metrics, pagecache):
        module.init_app(app)


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'; frame-src 'self'; worker-src 'self'; "
    "manifest-src 'self'"
)


def _init_responses(app: Flask, config: Config) -> None:
    """The CSRF refusal, the page language, and the security headers of every response."""
    from . import errors

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        log.warning("CSRF check failed on %s %s: %s", request.method, request.path, exc.description)
        if errors.wants_json() and not current_user.is_authenticated:
            # Without a session there is nothing to protect yet: say what is missing first.
            return errors.json_error(401, errors.MESSAGES[401])
        return errors.error_response(400, "The form expired or was not sent from this site. "
                                          "Reload the page and try again.")

    @app.context_processor
    def language_context() -> dict[str, Any]:
        lang = str(get_locale() or config.app.default_language)
        return {"lang": lang, "text_dir": "rtl" if lang == "he" else "ltr"}

    app.wsgi_app = SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]


class SecurityHeaders:
    """Adds the security headers to every response that has not set its own (a WSGI middleware:
    one pass over the finished header list instead of a lookup per header)."""

    HEADERS = (
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    )
    HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    PLAIN = tuple((name.lower(), (name, value)) for name, value in HEADERS)
    SECURE = (*PLAIN, (HSTS[0].lower(), HSTS))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        wanted = self.SECURE if environ.get("wsgi.url_scheme") == "https" else self.PLAIN

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            headers.extend(header for lowered, header in wanted if lowered not in present)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)
