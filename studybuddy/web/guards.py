"""Checks every request passes before its view: JSON bodies are objects, unconfirmed addresses
wait before the AI tools (when the administrator asks for it); and the date filter pages use."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from . import get_services
from .errors import json_error, wants_json

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MESSAGES = {
    "not_an_object": "The request body must be a JSON object.",
    "verify_first": "Please confirm your e-mail address before using the AI tools: follow the link we sent "
                    "you (the settings page sends a new one).",
}
NOT_AN_OBJECT = MESSAGES["not_an_object"]
VERIFY_FIRST = MESSAGES["verify_first"]


def _reject_non_object_json() -> Any:
    """A JSON body that is a list, a string, a number or not JSON at all is a 400, on every route."""
    if request.method not in BODY_METHODS or not request.is_json:
        return None
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return json_error(400, NOT_AN_OBJECT)
    if not isinstance(body, dict):
        return json_error(400, NOT_AN_OBJECT)
    return None


def _verified_for_ai() -> Any:
    if request.method != "POST" or not (request.endpoint or "").startswith("tools."):
        return None
    if not get_services().config.accounts.require_verification_for_ai:
        return None
    if not current_user.is_authenticated or current_user.email_verified:
        return None
    if wants_json() or request.accept_mimetypes.best == "application/json":
        return json_error(403, VERIFY_FIRST)
    return render_template("error.html", status=403, message=_(VERIFY_FIRST)), 403


def local_time(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    zone = ZoneInfo(get_services().config.app.timezone)
    return dt.datetime.fromtimestamp(timestamp, zone).strftime("%Y-%m-%d %H:%M")


def init_app(app: Flask) -> None:
    app.before_request(_reject_non_object_json)
    app.before_request(_verified_for_ai)
    app.jinja_env.filters["datetime"] = local_time
