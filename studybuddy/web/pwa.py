"""The installable app: web manifest, the service worker at /sw.js (root scope), the offline page."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_login import current_user, login_required

from . import LANGUAGES, get_services

log = logging.getLogger(__name__)
bp = Blueprint("pwa", __name__)

THEME_COLOR = "#8a5a2b"
BACKGROUND_COLOR = "#faf7f2"

# The app shell the service worker keeps for offline use (public files only).
SHELL_STATIC = (
    "css/app.css",
    "js/app.js",
    "js/sw-register.js",
    "js/review.js",
    "js/fsrs.js",
    "img/avner.svg",
    "icons/icon-192.png",
)


def _static_dir() -> Path:
    return Path(current_app.static_folder or "")


def shell_version() -> str:
    """A digest of every static file: any change to the shipped files makes a new worker version."""
    cached = current_app.extensions.get("studybuddy.shell_version")
    if cached:
        return str(cached)
    digest = hashlib.sha256()
    root = _static_dir()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    version = digest.hexdigest()[:16]
    current_app.extensions["studybuddy.shell_version"] = version
    return version


# The manifest's words in each language (the app's identity, icons and colours are shared).
MANIFEST_TEXT = {
    "he": {
        "name": "StudyBuddy — לומדים עם אבנר",
        "description": "סיכומים, כרטיסיות, בחנים ועזרה בשיעורי בית מחומרי הקורס שלך, עם אבנר הקפיברה.",
        "dir": "rtl",
        "shortcuts": (("הקורסים שלי", "קורסים"), ("צ'אט עם אבנר", "אבנר"), ("חזרה על כרטיסיות", "חזרה")),
    },
    "en": {
        "name": "StudyBuddy — study with Avner",
        "description": "Summaries, flashcards, quizzes and homework help from your own course material, "
                       "with Avner the capybara.",
        "dir": "ltr",
        "shortcuts": (("My courses", "Courses"), ("Chat with Avner", "Avner"), ("Review flashcards", "Review")),
    },
}


def manifest_data(lang: str = "he") -> dict[str, Any]:
    text = MANIFEST_TEXT.get(lang, MANIFEST_TEXT["he"])
    icon = url_for("static", filename="icons/icon-192.png")
    shortcut_urls = (url_for("courses.library"), url_for("pwa.chat_shortcut"), "/review")
    return {
        "id": "/",
        "name": text["name"],
        "short_name": "StudyBuddy",
        "description": text["description"],
        "lang": lang if lang in MANIFEST_TEXT else "he",
        "dir": text["dir"],
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "background_color": BACKGROUND_COLOR,
        "theme_color": THEME_COLOR,
        "categories": ["education"],
        "icons": [
            {"src": icon, "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "any"},
            {"src": url_for("static", filename="icons/maskable-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "maskable"},
        ],
        "shortcuts": [
            {"name": name, "short_name": short, "url": url,
             "icons": [{"src": icon, "sizes": "192x192", "type": "image/png"}]}
            for (name, short), url in zip(text["shortcuts"], shortcut_urls)
        ],
    }


@bp.route("/manifest.webmanifest")
def manifest() -> Response:
    """The manifest in the language asked for (?lang=en), else the default language."""
    lang = request.args.get("lang", "")
    if lang not in LANGUAGES:
        lang = get_services().config.app.default_language
    response = Response(current_app.json.dumps(manifest_data(lang)), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/sw.js")
def service_worker() -> Response:
    source = (_static_dir() / "sw.js").read_text(encoding="utf-8")
    shell = [url_for("static", filename=name) for name in SHELL_STATIC]
    shell += [url_for("pwa.offline", lang=lang) for lang in LANGUAGES]
    source = source.replace("__SHELL_VERSION__", shell_version()).replace(
        "__SHELL_URLS__", current_app.json.dumps(shell))
    response = Response(source, mimetype="text/javascript")
    # Browsers check for a new worker on navigation; never let a stale copy hide an update.
    response.headers["Cache-Control"] = "no-cache, max-age=0"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.route("/offline")
def offline() -> Any:
    """The page the service worker shows when a page cannot be reached; it holds no private data."""
    lang = request.args.get("lang", "")
    if lang not in LANGUAGES:
        lang = get_services().config.app.default_language
    with force_locale(lang):
        html = render_template("offline.html", lang=lang, text_dir="rtl" if lang == "he" else "ltr",
                               public_shell=True)
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/go/chat")
@login_required
def chat_shortcut() -> Any:
    """The app shortcut to Avner: the chat of the student's most recent course."""
    courses = get_services().store.courses.list_for_owner(current_user.id)
    if not courses:
        return redirect(url_for("courses.library"))
    latest = max(courses, key=lambda c: c.created_at)
    if "tools.chat_home" in current_app.view_functions:
        return redirect(url_for("tools.chat_home", course_id=latest.id))
    return redirect(url_for("courses.view", course_id=latest.id))


def _no_store_for_accounts(response: Response) -> Response:
    """Pages and answers for a logged-in student must never be kept by a browser or proxy cache."""
    if request.path.startswith("/static/") or request.endpoint in (
            "pwa.manifest", "pwa.service_worker", "pwa.offline"):
        return response
    if getattr(current_user, "is_authenticated", False) or "Clear-Site-Data" in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(_no_store_for_accounts)

    default_language = app.extensions["studybuddy"].config.app.default_language

    @app.context_processor
    def pwa_context() -> dict[str, Any]:
        return {"theme_color": THEME_COLOR, "default_language": default_language}
