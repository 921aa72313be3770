"""sd_notify against a real AF_UNIX datagram socket: READY, STATUS, WATCHDOG cadence, wedged loops."""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from studybuddy.config import Config
from studybuddy.services import Services
from studybuddy.systemd import Notifier, watchdog_interval

WATCHDOG_USEC = 400_000  # pings expected every 0.2 s


class NotifySocket:
    """What systemd listens on: records every datagram with its arrival time."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._receive, daemon=True)
        self.thread.start()

    def _receive(self) -> None:
        while not self.stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.append((time.monotonic(), data.decode()))

    def lines(self) -> list[tuple[float, str]]:
        with self.lock:
            return [(t, line) for t, msg in self.messages for line in msg.splitlines()]

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t, line in self.lines():
                if predicate(line):
                    return t
            time.sleep(0.01)
        raise AssertionError(f"no matching notification; got {[m for _, m in self.lines()]}")

    def pings_between(self, start: float, end: float) -> int:
        return sum(1 for t, line in self.lines() if line == "WATCHDOG=1" and start <= t < end)

    def statuses(self) -> list[str]:
        return [line[len("STATUS="):] for _, line in self.lines() if line.startswith("STATUS=")]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)  # a recv() in progress would keep the socket alive past close()
        self.sock.close()


@pytest.fixture
def notify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(sock.path))
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield sock
    sock.close()


def test_without_notify_socket_everything_is_a_silent_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    n = Notifier()
    n.ready("x")
    n.status("y")
    n.watchdog()
    n.stopping()
    assert not n.enabled
    assert watchdog_interval() is None


def test_watchdog_interval_is_half_of_watchdog_usec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog_interval() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert watchdog_interval() is None


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def warnings(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno == logging.WARNING]


def test_lost_notifications_are_a_warning_once_and_recovery_is_said(notify: NotifySocket) -> None:
    """sdnotify connects once; if systemd's socket goes away, the pings are lost: say so (once)."""
    seen = _Records()
    logger = logging.getLogger("studybuddy.systemd")
    logger.addHandler(seen)
    try:
        n = Notifier()
        n.watchdog()
        notify.wait_for(lambda line: line == "WATCHDOG=1")
        notify.close()
        notify.path.unlink()  # systemd is gone: every send now fails
        for _ in range(5):
            n.watchdog()
        assert len(seen.warnings()) == 1 and "WATCHDOG=1" in seen.warnings()[0], seen.warnings()
        back = NotifySocket(notify.path)
        try:
            seen.records.clear()
            n = Notifier()
            n._failing = True  # the state the lost pings left behind
            n.watchdog()
            back.wait_for(lambda line: line == "WATCHDOG=1")
            assert seen.warnings() == ["sd_notify works again"]
        finally:
            back.close()
    finally:
        logger.removeHandler(seen)


def test_ready_status_stopping(notify: NotifySocket) -> None:
    n = Notifier()
    n.ready("serving on 127.0.0.1:8080")
    n.status("serving on 127.0.0.1:8080")  # unchanged: not repeated
    n.status("idle — 6 queues")
    n.watchdog()
    n.stopping("bye")
    notify.wait_for(lambda line: line == "STOPPING=1")
    assert [line for _, line in notify.lines()] == [
        "READY=1", "STATUS=serving on 127.0.0.1:8080", "STATUS=idle — 6 queues", "WATCHDOG=1",
        "STOPPING=1", "STATUS=bye",
    ]


def _assert_cadence(notify: NotifySocket, seconds: float = 1.2) -> None:
    start = time.monotonic()
    time.sleep(seconds)
    pings = notify.pings_between(start, time.monotonic())
    expected = seconds / (WATCHDOG_USEC / 2e6)
    assert expected * 0.5 <= pings <= expected * 1.5 + 1, f"{pings} pings in {seconds}s"


# -- web -------------------------------------------------------------------------------------

def test_web_ready_only_when_serving_and_pings_stop_when_wedged(cfg: Config, services: Services,
                                                                 notify: NotifySocket) -> None:
    from flask import Blueprint

    from studybuddy.web import create_app
    from studybuddy.web.serve import serve

    release = threading.Event()
    wedge = Blueprint("wedge", __name__)

    @wedge.route("/test-wedge")
    def wedged() -> str:
        release.wait(30)
        return "released"

    app = create_app(cfg, services)
    app.register_blueprint(wedge)
    answered: list[float] = []  # when the app first answered a request on its socket

    @app.after_request
    def note_answer(response: Any) -> Any:
        if not answered:
            answered.append(time.monotonic())
        return response

    port: list[int] = []
    thread = threading.Thread(target=serve, args=(app, "127.0.0.1", 0),
                              kwargs={"threads": 1, "on_bound": port.append}, daemon=True)
    thread.start()
    ready_at = notify.wait_for(lambda line: line == "READY=1")
    # READY came after the app answered a real request on its socket.
    with urllib.request.urlopen(f"http://127.0.0.1:{port[0]}/health/live", timeout=5) as r:
        assert r.status == 200
    assert any(s.startswith("serving on 127.0.0.1:") for s in notify.statuses())
    # READY=1 was sent only after the app had answered a real request (its own self-check).
    assert answered and answered[0] <= ready_at, (answered, ready_at)
    _assert_cadence(notify)

    # Occupy the only request thread: the self-check cannot be answered, so the pings stop.
    blocker = threading.Thread(
        target=lambda: urllib.request.urlopen(f"http://127.0.0.1:{port[0]}/test-wedge", timeout=30).read(),
        daemon=True)
    blocker.start()
    time.sleep(0.5)
    start = time.monotonic()
    time.sleep(1.5)
    assert notify.pings_between(start, time.monotonic()) == 0
    release.set()
    blocker.join(10)
    # Once unwedged, the pings come back.
    resumed = time.monotonic()
    deadline = resumed + 10
    while time.monotonic() < deadline and notify.pings_between(resumed, time.monotonic()) == 0:
        time.sleep(0.05)
    assert notify.pings_between(resumed, time.monotonic()) > 0


# -- worker ----------------------------------------------------------------------------------

def test_worker_ready_when_consuming_and_pings_stop_on_a_stuck_job(tmp_path: Path, notify: NotifySocket) -> None:
    from studybuddy.jobs import submit_job
    from studybuddy.worker.consumer import Worker
    from tests.conftest import make_config

    cfg = make_config(tmp_path, worker={"job_timeout_seconds": 1, "reaper_interval_seconds": 0.2,
                                        "retry_backoff_seconds": 0.1, "lease_seconds": 30})
    services = Services(cfg)
    release = threading.Event()
    entered = threading.Event()

    def stuck(ctx: Any) -> str:
        entered.set()
        release.wait(30)
        return "done"

    worker = Worker(services, handlers={"ping": stuck}, run_reaper=False)
    worker.start()
    try:
        notify.wait_for(lambda line: line == "READY=1")
        assert worker.wait_ready(5)
        notify.wait_for(lambda line: line == "STATUS=idle — 6 queues")
        _assert_cadence(notify)
        submit_job(services, "ping", "someone", params={"queue": "summarize"})
        assert entered.wait(10)
        notify.wait_for(lambda line: line.startswith("STATUS=running ping job"))
        # Past worker.job_timeout_seconds (1 s) the watchdog is withheld.
        notify.wait_for(lambda line: line.startswith("STATUS=unhealthy: job"), timeout=5)
        start = time.monotonic()
        time.sleep(1.0)
        assert notify.pings_between(start, time.monotonic()) == 0
    finally:
        release.set()
        worker.stop(timeout=10)
        services.close()
    notify.wait_for(lambda line: line == "STOPPING=1")


# -- monitor ---------------------------------------------------------------------------------

def test_monitor_ready_status_and_pings_stop_when_a_probe_hangs(
        cfg: Config, services: Services, notify: NotifySocket, monkeypatch: pytest.MonkeyPatch) -> None:
    from studybuddy import health
    from studybuddy.monitor.service import Monitor

    release = threading.Event()
    hang = threading.Event()

    def maybe_hang(ctx: Any) -> list[health.CheckResult]:
        if hang.is_set():
            release.wait(30)
        return [health.CheckResult("test:hang", "pass")]

    monkeypatch.setitem(health.CHECKS, "hang", health.Check("hang", maybe_hang))  # the one registry
    cfg = cfg.replace(monitor={"interval_seconds": 1})
    services.config = cfg
    mon = Monitor(services, checks=["version", "hang"])
    thread = threading.Thread(target=mon.run_forever, daemon=True)
    thread.start()
    try:
        notify.wait_for(lambda line: line == "READY=1")
        notify.wait_for(lambda line: line.startswith("STATUS=last round ") and "2 pass, 0 warn, 0 fail" in line)
        _assert_cadence(notify)
        hang.set()
        time.sleep(1.5)  # the next round starts and hangs inside the probe
        start = time.monotonic()
        time.sleep(1.0)
        assert notify.pings_between(start, time.monotonic()) == 0
    finally:
        release.set()
        mon.stop()
        thread.join(10)
    assert not thread.is_alive()
    notify.wait_for(lambda line: line == "STOPPING=1")
