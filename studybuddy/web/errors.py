"""Error pages and JSON errors, in the user's language."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _

from ..store.base import StoreError, is_storage_full

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def json_error(status: int, message: str) -> Any:
    return jsonify({"error": _(message)}), status


def error_response(status: int, message: str) -> Any:
    if wants_json():
        return json_error(status, message)
    return render_template("error.html", status=status, message=_(message)), status


MESSAGES = {
    400: "The request was not understood.",
    401: "Please log in first.",
    404: "This page does not exist, or it is not yours.",
    405: "This action is not allowed here.",
    413: "The file is too large.",
    429: "Too many requests. Please wait a little and try again.",
    500: "Something went wrong on our side. Please try again.",
    507: "Storage is full on the server, so nothing was saved. Please try again later.",
}


def storage_full_response(exc: BaseException) -> Any:
    """507 when a write failed because the disk (or a quota) is full; any other error goes on."""
    if not is_storage_full(exc):
        raise exc
    log.error("storage is full: %s %s refused (%s)", request.method, request.path, type(exc).__name__)
    return error_response(507, MESSAGES[507])


def init_app(app: Flask) -> None:
    for status in (400, 404, 405, 413, 429):
        app.register_error_handler(status, lambda exc, s=status: error_response(s, MESSAGES[s]))

    # Upload, paste, tool requests, signup: whichever write meets a full disk answers 507.
    for kind in (StoreError, OSError, sqlite3.Error):
        app.register_error_handler(kind, storage_full_response)

    @app.errorhandler(500)
    def server_error(exc: Exception) -> Any:
        log.error("unhandled error on %s %s: %s", request.method, request.path, exc)
        return error_response(500, MESSAGES[500])
