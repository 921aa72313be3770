"""Serving the app with waitress, with sd_notify READY/STATUS/WATCHDOG."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import urllib.request
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import create_server
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge

from ..config import Config
from ..systemd import Notifier, watchdog_interval

log = logging.getLogger(__name__)


def self_check(host: str, port: int, timeout: float = 5.0) -> bool:
    """A real HTTP request to our own socket: the proof of liveness the watchdog needs."""
    target = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    if ":" in target:
        target = f"[{target}]"
    try:
        with urllib.request.urlopen(f"http://{target}:{port}/health/live", timeout=timeout) as r:
            return bool(r.status == 200)
    except Exception as exc:  # noqa: BLE001
        log.warning("self-check of http://%s:%d failed: %s", target, port, exc)
        return False


def request_body_limit(config: Config) -> int:
    """The largest request body worth reading: a full multi-file upload plus form overhead."""
    return config.web.max_upload_mb * config.ingest.max_files_per_upload * 1024 * 1024 + 1024 * 1024


MB = 1024 * 1024

# What waitress itself refuses, in the words pages use (errors.MESSAGES covers the rest).
MESSAGES = {
    413: "The request is too large.",
    431: "The request headers are too large.",
    501: "This kind of request is not supported.",
}
# Views that take a whole upload; every other request body is held to web.max_request_kb.
UPLOAD_ENDPOINTS = frozenset({"documents.upload_api", "documents.upload_form"})
# Views that take pasted text (up to ingest.max_paste_chars characters, 4 bytes each at most).
PASTE_ENDPOINTS = frozenset({"documents.paste_api", "documents.paste_form"})


def body_limit_for(app: Any, config: Config) -> Any:
    """A function (method, path) -> the largest body worth reading for that request."""
    small = config.web.max_request_kb * 1024
    paste = max(small, config.ingest.max_paste_chars * 4 + 64 * 1024)
    upload = request_body_limit(config)
    adapter = app.url_map.bind("localhost") if hasattr(app, "url_map") else None

    def limit(method: str, path: str) -> int:
        if adapter is None:
            return upload
        try:
            endpoint, _args = adapter.match(path, method=method)
        except Exception:  # noqa: BLE001 - no such route (404/405 later): nothing worth reading
            return small
        if endpoint in UPLOAD_ENDPOINTS:
            return upload
        return paste if endpoint in PASTE_ENDPOINTS else small

    return limit


def _channel_class(app: Any, limit_for: Any) -> type[HTTPChannel]:
    """waitress's channel with our per-route body limit and our own error pages."""

    class LimitedParser(HTTPRequestParser):  # type: ignore[misc]
        body_limit = 0

        def parse_header(self, header_plus: bytes) -> None:
            super().parse_header(header_plus)
            self.body_limit = limit_for(self.command, self.path)
            if self.content_length > self.body_limit:
                # Refused from the Content-Length alone: the body is never read.
                self.error = RequestEntityTooLarge(f"exceeds the limit of {self.body_limit} for {self.path}")
                self.completed = True

        def received(self, data: bytes) -> int:
            consumed = int(super().received(data))
            if self.body_limit and not self.error and self.body_bytes_received > self.body_limit:
                # A chunked body announces no length: it is cut off as soon as it passes the limit.
                self.error = RequestEntityTooLarge(f"exceeds the limit of {self.body_limit}")
                self.completed = True
            return consumed

    class OurErrorTask(ErrorTask):  # type: ignore[misc]
        def execute(self) -> None:
            error = self.request.error
            status, content_type, body = render_server_error(app, self.request, int(error.code),
                                                             getattr(self.request, "body_limit", 0))
            self.status = f"{error.code} {error.reason}"
            self.response_headers.extend([("Content-Type", content_type), ("Cache-Control", "no-store")])
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class OurChannel(HTTPChannel):  # type: ignore[misc]
        parser_class = LimitedParser
        error_task_class = OurErrorTask

    return OurChannel


def _is_upload(app: Any, method: str, path: str) -> bool:
    try:
        endpoint, _args = app.url_map.bind("localhost").match(path, method=method)
    except Exception:  # noqa: BLE001 - no such route: not an upload
        return False
    return endpoint in UPLOAD_ENDPOINTS


def render_server_error(app: Any, request: Any, status: int, body_limit: int = 0) -> tuple[int, str, bytes]:
    """The page (or JSON) our app shows for `status`, for a request waitress refused itself.

    A refused upload says how much the server takes (`body_limit`, the route's limit)."""
    from flask_babel import gettext as _

    from ..ingest import messages as ingest_messages
    from . import errors

    # A request refused while its first line or headers were read has no path, or no headers.
    headers = {k.replace("_", "-").title(): v for k, v in (getattr(request, "headers", None) or {}).items()
               if k in ("ACCEPT", "ACCEPT_LANGUAGE", "COOKIE")}
    path = getattr(request, "path", None) or "/"
    message = MESSAGES.get(status) or errors.MESSAGES.get(status) or errors.MESSAGES[400]
    try:
        with app.test_request_context(path, method="GET", headers=headers):
            if status == 413 and _is_upload(app, getattr(request, "command", "") or "POST", path):
                message = _(ingest_messages.REQUEST_TOO_LARGE).format(limit=max(1, body_limit // MB))
            response = app.make_response(errors.error_response(status, message))
            return status, str(response.content_type), bytes(response.get_data())
    except Exception as exc:  # noqa: BLE001 - the app itself is broken: still answer in both languages
        log.error("could not render the %d page: %s", status, exc)
        text = f"{status}\n{message}\n"
        return status, "text/plain; charset=utf-8", text.encode()


# waitress serves from threads that share the GIL. A thread that gives it up for a moment (each
# SQLite read does) waits up to the switch interval to have it back, and so does the thread that
# reads requests off the sockets: at Python's 5 ms a logged-in page answered 800 req/s under
# 32 connections, at 1 ms 960 (bench/web.py, which runs the hello-world baseline at the same
# interval).
SWITCH_INTERVAL = 0.001


def share_the_gil_often() -> None:
    sys.setswitchinterval(SWITCH_INTERVAL)


def serve_config(app: Any, config: Config, notifier: Notifier | None = None, on_bound: Any = None) -> None:
    """serve() with the host, port, threads and body limits from the config."""
    serve(app, config.web.host, config.web.port, threads=config.web.threads, notifier=notifier,
          on_bound=on_bound, max_body=request_body_limit(config), body_limit_for=body_limit_for(app, config),
          trusted_proxy=config.web.trusted_proxy)


def create_our_server(app: Any, host: str, port: int, threads: int = 8, max_body: int = 1 << 30,
                      body_limit_for: Any = None, trusted_proxy: str = "") -> Any:
    """A waitress server whose body limits and error answers are ours.

    waitress refuses a body larger than its route's limit by its Content-Length, before
    reading it; `max_body` is the ceiling over all routes."""
    proxy: dict[str, Any] = {}
    if trusted_proxy:
        # Behind nginx: the client's address and scheme come from its X-Forwarded-* headers.
        proxy = {"trusted_proxy": trusted_proxy, "trusted_proxy_count": 1,
                 "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}}
    server = create_server(app, host=host, port=port, threads=threads, ident="StudyBuddy",
                           clear_untrusted_proxy_headers=True, max_request_body_size=max_body, **proxy)
    channel = _channel_class(app, body_limit_for or (lambda method, path: max_body))
    for dispatcher in [server, *getattr(server, "map", {}).values()]:
        if hasattr(dispatcher, "channel_class"):
            dispatcher.channel_class = channel
    return server


def serve(app: Any, host: str, port: int, threads: int = 8, notifier: Notifier | None = None,
          on_bound: Any = None, max_body: int = 1 << 30, body_limit_for: Any = None,
          trusted_proxy: str = "") -> None:
    """Bind, tell systemd we are ready once a request to ourselves answers, serve until SIGTERM."""
    notifier = notifier or Notifier()
    share_the_gil_often()
    server = create_our_server(app, host, port, threads, max_body, body_limit_for, trusted_proxy)
    bound_port = server.effective_port  # type: ignore[union-attr]
    stop = threading.Event()
    where = f"{host}:{bound_port}"
    if on_bound:
        on_bound(bound_port)

    def watchdog_loop() -> None:
        interval = watchdog_interval()
        while not stop.is_set():
            if self_check(host, int(bound_port)):
                if not notifier.last_status.startswith("serving"):
                    notifier.ready(f"serving on {where}")
                if interval:
                    notifier.watchdog()
                notifier.status(f"serving on {where}")
            else:
                notifier.status(f"self-check failing on {where}")
            stop.wait(interval or 30.0)

    def on_signal(signum: int, frame: Any) -> None:
        log.info("signal %d: stopping the web server", signum)
        notifier.stopping()
        stop.set()
        server.close()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=watchdog_loop, name="web-watchdog", daemon=True).start()
    log.info("serving on http://%s", where)
    try:
        server.run()
    except (OSError, ValueError):
        if not stop.is_set():
            raise
    finally:
        stop.set()
