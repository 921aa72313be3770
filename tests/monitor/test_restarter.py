"""The restarter builds exactly the commands our polkit rule allows and survives systemctl failing."""

from __future__ import annotations

from pathlib import Path

import pytest

from studybuddy.monitor.restarter import ALLOWED_VERBS, Restarter, RestarterError, parse_show

from .helpers import FakeSystemctl

UNITS = ["studybuddy-web.service", "studybuddy-worker.service", "studybuddy-monitor.service"]


@pytest.fixture
def systemctl(tmp_path: Path) -> FakeSystemctl:
    return FakeSystemctl(tmp_path / "bin")


def test_command_building() -> None:
    r = Restarter(UNITS, "/usr/bin/systemctl")
    assert r.build("restart", "studybuddy-web.service") == [
        "/usr/bin/systemctl", "--no-ask-password", "--no-block", "restart", "studybuddy-web.service"]
    assert r.build("reset-failed", "studybuddy-worker.service")[3:] == ["reset-failed",
                                                                        "studybuddy-worker.service"]
    assert r.build_show("studybuddy-web.service")[:3] == ["/usr/bin/systemctl", "show", "studybuddy-web.service"]
    assert set(ALLOWED_VERBS) == {"restart", "try-restart", "reset-failed"}


@pytest.mark.parametrize("verb,unit", [
    ("stop", "studybuddy-web.service"),
    ("start", "studybuddy-web.service"),
    ("kill", "studybuddy-web.service"),
    ("restart", "ssh.service"),
    ("restart", "studybuddy-web.service; reboot"),
    ("restart", "--force"),
])
def test_refuses_what_the_polkit_rule_would_not_allow(verb: str, unit: str) -> None:
    with pytest.raises(RestarterError):
        Restarter(UNITS).build(verb, unit)


def test_refuses_odd_unit_names_in_config() -> None:
    with pytest.raises(RestarterError):
        Restarter(["studybuddy-web.service", "-H evil"])


def test_restart_runs_systemctl(systemctl: FakeSystemctl) -> None:
    result = Restarter(UNITS, str(systemctl.path)).restart("studybuddy-worker.service")
    assert result.ok and result.summary == "ok"
    assert systemctl.calls() == ["--no-ask-password --no-block restart studybuddy-worker.service"]


def test_restart_failure_is_reported_not_raised(systemctl: FakeSystemctl) -> None:
    systemctl.fail_with(4, "Failed to restart studybuddy-web.service: Access denied")
    result = Restarter(UNITS, str(systemctl.path)).restart("studybuddy-web.service")
    assert not result.ok
    assert result.returncode == 4
    assert "Access denied" in result.summary and result.summary.startswith("exit 4")


def test_missing_systemctl(tmp_path: Path) -> None:
    result = Restarter(UNITS, str(tmp_path / "nope")).restart("studybuddy-web.service")
    assert not result.ok and result.returncode == 127
    assert "FileNotFoundError" in result.summary


def test_hanging_systemctl_times_out(systemctl: FakeSystemctl) -> None:
    systemctl.hang(5)
    result = Restarter(UNITS, str(systemctl.path), timeout=0.5).restart("studybuddy-web.service")
    assert not result.ok and result.returncode is None
    assert result.summary.startswith("timed out")


def test_show_parses_properties(systemctl: FakeSystemctl) -> None:
    systemctl.show_output("ActiveState=failed\nSubState=failed\nResult=start-limit-hit\nNRestarts=5\n"
                          "MainPID=0\nControlGroup=\n")
    props = Restarter(UNITS, str(systemctl.path)).show("studybuddy-web.service")
    assert props["ActiveState"] == "failed" and props["Result"] == "start-limit-hit"
    assert props["NRestarts"] == "5"
    assert systemctl.calls()[0].startswith("show studybuddy-web.service --property=ActiveState,")


def test_show_failure_raises(systemctl: FakeSystemctl) -> None:
    systemctl.fail_with(1, "System has not been booted with systemd")
    with pytest.raises(RuntimeError, match="not been booted"):
        Restarter(UNITS, str(systemctl.path)).show("studybuddy-web.service")


def test_parse_show_ignores_junk() -> None:
    assert parse_show("A=1\nnot a property\nB=x=y\n") == {"A": "1", "B": "x=y"}
