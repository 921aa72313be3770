"""The web's requests, by route, method and status, timed; and /metrics for the monitor token.

Requests that nginx forwards arrive from loopback too, so the web's own port never serves
metrics without the token: Prometheus on the host scrapes the loopback listener instead
(`metrics.web_port`, see studybuddy.metrics)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from ..metrics import HTTP_DURATION, HTTP_REQUESTS
from .health import _token_ok

bp = Blueprint("metrics", __name__)


@bp.route("/metrics")
def metrics() -> Response:
    if not _token_ok():
        return Response("the monitor token is required (Authorization: Bearer TOKEN)\n", status=401,
                        mimetype="text/plain", headers={"WWW-Authenticate": "Bearer"})
    response = Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def _started() -> None:
    g.metrics_started = time.perf_counter()


# The labelled children, found once per (route, method, status): labels() checks and locks each time.
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _answered(response: Any) -> Any:
    started = g.pop("metrics_started", None)
    if started is not None:
        # The route's pattern, not the URL: ids in paths must not become label values.
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        key = (route, request.method, response.status_code)
        pair = _children.get(key)
        if pair is None:
            pair = _children[key] = (HTTP_REQUESTS.labels(route, request.method, str(response.status_code)),
                                     HTTP_DURATION.labels(route, request.method))
        pair[0].inc()
        pair[1].observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    # First of all: a request another before_request answers (a redirect) is timed too.
    app.before_request_funcs.setdefault(None, []).insert(0, _started)
    app.after_request(_answered)
