"""Health endpoints: live (the process answers), ready (store and broker), detailed (admins/monitor)."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from flask import Blueprint, Response, abort, request
from flask_login import current_user

from ..health import (
    detailed_results,
    health_json,
    overall_status,
    readiness,
)
from . import get_services

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__, url_prefix="/health")

HEALTH_JSON = "application/health+json"


def _reply(body: dict[str, Any], status: int) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=HEALTH_JSON)
    response.headers["Cache-Control"] = "no-store"
    return response


def _token_ok() -> bool:
    expected = get_services().config.monitor.token
    if not expected:
        return False
    header = request.headers.get("Authorization", "")
    given = header[len("Bearer "):] if header.startswith("Bearer ") else request.headers.get(
        "X-Monitor-Token", "")
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


@bp.route("/live")
def live() -> Response:
    return _reply({"status": "pass", "description": "StudyBuddy web"}, 200)


@bp.route("/ready")
def ready() -> Response:
    results = readiness(get_services())
    status = overall_status(results)
    body = {"status": status, "checks": {r.name: [r.to_json()] for r in results}}
    return _reply(body, 200 if status != "fail" else 503)


@bp.route("/detailed")
def detailed() -> Response:
    is_admin = bool(getattr(current_user, "is_authenticated", False) and getattr(current_user, "is_admin", False))
    if not (is_admin or _token_ok()):
        if getattr(current_user, "is_authenticated", False):
            abort(404)
        return _reply({"status": "fail", "output": "admins or the monitor token only"}, 401)
    # The end-to-end probes are the monitor's: what its last rounds found (with their time).
    body = health_json(detailed_results(get_services()))
    return _reply(body, 200 if body["status"] != "fail" else 503)
