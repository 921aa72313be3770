"""Serving the app with waitress, with sd_notify READY/STATUS/WATCHDOG."""

from __future__ import annotations

import logging
import signal
import threading
import urllib.request
from typing import Any

from waitress.server import create_server

from ..config import Config
from ..systemd import Notifier, watchdog_interval
from .toolarge import localise_refusals

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


def serve_config(app: Any, config: Config, notifier: Notifier | None = None, on_bound: Any = None) -> None:
    """serve() with the host, port, threads and body limit from the config."""
    serve(app, config.web.host, config.web.port, threads=config.web.threads, notifier=notifier,
          on_bound=on_bound, max_body=request_body_limit(config))


def serve(app: Any, host: str, port: int, threads: int = 8, notifier: Notifier | None = None,
          on_bound: Any = None, max_body: int = 1 << 30) -> None:
    """Bind, tell systemd we are ready once a request to ourselves answers, serve until SIGTERM.

    waitress refuses a body larger than `max_body` by its Content-Length, before reading it."""
    notifier = notifier or Notifier()
    server = create_server(app, host=host, port=port, threads=threads, ident="StudyBuddy",
                           clear_untrusted_proxy_headers=True, max_request_body_size=max_body)
    localise_refusals(server, app, max_body)  # its 413 in the student's language, JSON or HTML
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
