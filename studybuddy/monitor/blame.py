"""Root causes: which failing check is whose fault.

A broker outage fails the broker's own check, the web's readiness and the canary; all three are
one problem, the broker, and neither the web nor the worker is to be restarted for it. Each
result has an own cause (what it measures) and a blamed cause (what is at fault this round): the
blamed cause is a dependency that is down when the result's own cause depends on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..checks import CHECKS, WEB_UNIT, WORKER_UNIT, CheckResult

MONITOR_UNIT = "studybuddy-monitor.service"

# What the web and the worker cannot work without, in the order blamed when several are down.
DEPENDENCIES = ("store", "broker")
# Causes that are victims of a dependency that is down.
DEPENDENTS = ("web", "worker")
_UNIT_CAUSES = {WEB_UNIT: "web", WORKER_UNIT: "worker", MONITOR_UNIT: "monitor"}
_CAUSE_UNITS = {"web": WEB_UNIT, "worker": WORKER_UNIT}
_LABELS = {
    "store": "the store (database) does not answer",
    "broker": "the message broker (RabbitMQ) does not answer",
    "web": "the web service",
    "worker": "the worker",
    "disk": "disk space",
    "backup": "backups",
    "monitor": "the monitor itself",
}


@dataclass(frozen=True)
class Cause:
    key: str
    unit: str = ""  # the unit restarted for it; "" when a person is needed (not one of our units)

    @property
    def dependency(self) -> bool:
        return self.key in DEPENDENCIES

    @property
    def label(self) -> str:
        if self.key.startswith("ai:"):
            return f"the AI provider {self.key.split(':', 1)[1]}"
        return _LABELS.get(self.key, self.key)


@dataclass(frozen=True)
class Blame:
    own: Cause
    blamed: Cause


def own_cause(check_name: str, result: CheckResult, units: Iterable[str]) -> Cause:
    """What a result measures, whatever else is down."""
    ours = [u for u in units if u != MONITOR_UNIT]
    name = result.name
    if name == f"{check_name}:check":
        return Cause(f"probe:{check_name}")  # the probe itself crashed: no unit to blame
    if name.startswith(("store:", "jobs:")):
        key = "store"
    elif name == "broker:consumers":
        key = "worker"  # the broker answers, but no worker consumes the queue
    elif name.startswith("broker:"):
        key = "broker"
    elif name.startswith("web:"):
        key = "web"
    elif name.startswith(("canary:", "upload:")):
        key = "worker"
    elif name.startswith(("unit:", "process:")):
        unit = result.component_id
        key = _UNIT_CAUSES.get(unit, unit)
        return Cause(key, unit if unit in ours else "")
    elif name.startswith("ai:") and result.component_id:
        key = f"ai:{result.component_id}"
    elif name.startswith(("disk:", "backup:")):
        key = name.split(":", 1)[0]
    else:
        check = CHECKS.get(check_name)
        unit = check.unit if check is not None else ""
        return Cause(check_name, unit if unit in ours else "")
    unit = _CAUSE_UNITS.get(key, "")
    return Cause(key, unit if unit in ours else "")


def assign(results: Iterable[tuple[str, CheckResult]], units: Iterable[str]) -> dict[str, Blame]:
    """Blame for each result key of one round, given as (check name, result) pairs."""
    units = list(units)
    own = {r.key: (r, own_cause(name, r, units)) for name, r in results}
    down = [key for key in DEPENDENCIES
            if any(r.status == "fail" and cause.key == key for r, cause in own.values())]
    out: dict[str, Blame] = {}
    for key, (result, cause) in own.items():
        blamed = cause
        # A unit's own state (failed, inactive) is its own, not a victim's symptom; a probe that
        # crashed while the store or broker is down most likely crashed on it.
        victim = cause.key in DEPENDENTS or cause.key.startswith("probe:")
        if down and victim and not result.name.startswith(("unit:", "process:")):
            blamed = Cause(down[0])
        out[key] = Blame(cause, blamed)
    return out
