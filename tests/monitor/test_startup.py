"""The monitor's first round waits for the units it watches to finish starting; meanwhile
`systemctl status` and `studybuddy status` say "starting", not "fail"."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from studybuddy.cli import main
from studybuddy.config import Config
from studybuddy.monitor import service as monitor_service
from studybuddy.monitor.restarter import Restarter
from studybuddy.monitor.service import Monitor
from studybuddy.monitor.startup import STARTUP_KEY, startup_note, wait_until_started
from studybuddy.services import Services

from .helpers import Clock, FakeSystemctl
from .test_monitor import cli_env

WATCHED = ["studybuddy-web.service", "studybuddy-worker.service"]


class Notes:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, text: str) -> None:
        self.lines.append(text)


def test_waits_while_a_unit_is_activating(services: Services, tmp_path: Path) -> None:
    systemctl = FakeSystemctl(tmp_path / "bin")
    systemctl.show_output("ActiveState=activating\nSubState=start\n")
    clock = Clock(0.0)
    notes = Notes()
    seen: list[str] = []

    def sleep(seconds: float) -> None:
        seen.append(startup_note(services.store))
        clock.advance(seconds)
        if clock.now >= 3:
            systemctl.show_output("ActiveState=active\nSubState=running\n")

    left = wait_until_started(Restarter(WATCHED, str(systemctl.path)), WATCHED, services.store, clock=clock,
                              sleep=sleep, status=notes)
    assert left == []
    assert clock.now == 3.0
    assert notes.lines[0] == ("starting: waiting for studybuddy-web.service, studybuddy-worker.service "
                              "to finish starting")
    assert notes.lines[-1] == "starting: first round under way"
    assert seen[0] == ("starting: the monitor waits for studybuddy-web.service, studybuddy-worker.service "
                       "to finish starting")
    assert startup_note(services.store) == "starting: the monitor's first round is under way"


def test_gives_up_waiting_after_the_limit(services: Services, tmp_path: Path) -> None:
    systemctl = FakeSystemctl(tmp_path / "bin")
    systemctl.show_output("ActiveState=activating\n")
    clock = Clock(0.0)
    left = wait_until_started(Restarter(WATCHED, str(systemctl.path)), WATCHED, services.store, clock=clock,
                              sleep=clock.advance, status=Notes(), limit=10)
    assert left == WATCHED and clock.now == 10.0


def test_a_failed_or_stopped_unit_is_not_waited_for(services: Services, tmp_path: Path) -> None:
    systemctl = FakeSystemctl(tmp_path / "bin")
    systemctl.show_output("ActiveState=failed\nResult=exit-code\n")
    clock = Clock(0.0)
    assert wait_until_started(Restarter(WATCHED, str(systemctl.path)), WATCHED, services.store, clock=clock,
                              sleep=clock.advance, status=Notes()) == []
    assert clock.now == 0.0


def test_the_first_round_runs_once_the_units_are_up(cfg: Config, services: Services, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    systemctl = FakeSystemctl(tmp_path / "bin")
    systemctl.show_output("ActiveState=activating\n")
    services.config = cfg.replace(monitor={"systemctl": str(systemctl.path), "interval_seconds": 3600})
    monkeypatch.setattr(monitor_service, "under_systemd", lambda: True)
    mon = Monitor(services, checks=["store"])
    thread = threading.Thread(target=mon.run_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while startup_note(services.store) == "" and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)
    assert services.store.monitor.events(kind="round") == [], "a round ran while the web was starting"
    assert (services.store.monitor.get_state(STARTUP_KEY) or {})["waiting_for"] == WATCHED
    flipped = time.time()
    systemctl.show_output("ActiveState=active\n")
    while not services.store.monitor.events(kind="round") and time.monotonic() < deadline:
        time.sleep(0.05)
    while (services.store.monitor.get_state(STARTUP_KEY) or {}).get("state") != "running" \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    mon.stop()
    thread.join(10)
    rounds = services.store.monitor.events(kind="round")
    assert len(rounds) == 1 and rounds[0].created_at >= flipped
    assert startup_note(services.store) == ""


def test_status_says_starting_meanwhile(cfg: Config, services: Services) -> None:
    services.store.monitor.set_state(STARTUP_KEY, {"state": "starting", "waiting_for": ["studybuddy-web.service"],
                                                   "since": 0})
    result = CliRunner().invoke(main, ["status"], env=cli_env(cfg))
    assert result.exit_code == 0, result.output
    assert "starting: the monitor waits for studybuddy-web.service" in result.output
    assert "overall: warn" in result.output
