"""Root causes: what each failing check blames, alone and with the store or broker down."""

from __future__ import annotations

import pytest

from studybuddy.config import Config
from studybuddy.health import CheckResult
from studybuddy.monitor.blame import assign, own_cause

WEB = "studybuddy-web.service"
WORKER = "studybuddy-worker.service"
MONITOR = "studybuddy-monitor.service"


def r(key: str, status: str = "fail") -> CheckResult:
    name, _, component = key.partition("/")
    return CheckResult(name, status, component_id=component)


@pytest.mark.parametrize("check,key,cause,unit", [
    ("store", "store:responseTime", "store", ""),
    ("jobs", "jobs:count", "store", ""),
    ("broker", "broker:connection", "broker", ""),
    ("broker", "broker:consumers/summarize", "worker", WORKER),
    ("web", "web:responseTime", "web", WEB),
    ("canary", "canary:latency/assess", "worker", WORKER),
    ("upload", "upload:roundTrip", "worker", WORKER),
    ("units", f"unit:activeState/{WEB}", "web", WEB),
    ("units", f"unit:activeState/{MONITOR}", "monitor", ""),
    ("ai", "ai:responseTime/openai", "ai:openai", ""),
    ("disk", "disk:free", "disk", ""),
    ("backup", "backup:age", "backup", ""),
    ("canary", "canary:check", "probe:canary", ""),
])
def test_own_cause(cfg: Config, check: str, key: str, cause: str, unit: str) -> None:
    found = own_cause(check, r(key), cfg.monitor.units)
    assert (found.key, found.unit) == (cause, unit)


def test_a_unit_not_in_the_configured_list_is_never_restarted(cfg: Config) -> None:
    assert own_cause("web", r("web:responseTime"), [WORKER]).unit == ""


@pytest.mark.parametrize("down", ["broker:connection", "store:responseTime"])
def test_victims_of_a_dependency_blame_it(cfg: Config, down: str) -> None:
    dependency = down.split(":")[0]
    results = [("broker" if down.startswith("broker") else "store", r(down)),
               ("web", r("web:responseTime")), ("canary", r("canary:latency/summarize")),
               ("upload", r("upload:roundTrip")), ("units", r(f"unit:activeState/{WORKER}")),
               ("disk", r("disk:free")), ("ai", r("ai:check"))]
    blames = assign(results, cfg.monitor.units)
    assert blames["web:responseTime"].blamed.key == dependency
    assert blames["web:responseTime"].own.key == "web"
    assert blames["canary:latency/summarize"].blamed.key == dependency
    assert blames["upload:roundTrip"].blamed.key == dependency
    assert blames["canary:latency/summarize"].blamed.unit == ""  # nothing of ours to restart
    # A unit systemd reports failed is its own failure; the disk has nothing to do with either.
    assert blames[f"unit:activeState/{WORKER}"].blamed.key == "worker"
    assert blames["disk:free"].blamed.key == "disk"
    assert blames["ai:check"].blamed.key == dependency  # a probe that crashed meanwhile


def test_without_a_dependency_down_each_check_blames_its_own_cause(cfg: Config) -> None:
    blames = assign([("broker", r("broker:connection", "pass")), ("store", r("store:responseTime", "pass")),
                     ("web", r("web:responseTime")), ("canary", r("canary:latency/homework"))],
                    cfg.monitor.units)
    assert (blames["web:responseTime"].blamed.key, blames["web:responseTime"].blamed.unit) == ("web", WEB)
    assert blames["canary:latency/homework"].blamed.unit == WORKER
