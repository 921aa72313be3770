"""The check registry, below both the health module and the monitor.

A check is a function from a `HealthContext` to a list of `CheckResult`s. Results are named
`component:measurement` (the application/health+json convention), with an optional
`component_id` (a queue, a unit) when one check measures several things. Cheap local checks
live in `studybuddy.health`; the monitor's end-to-end probes (canary jobs, a real upload, AI
providers, systemd units) live in `studybuddy.monitor.probes`. Both are named here, by
"module:function", so that neither module imports the other and the registry stays complete
for `/health/detailed`, `studybuddy status` and `studybuddy probe`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Config
    from .services import Services

log = logging.getLogger(__name__)

STATUSES = ("pass", "warn", "fail")


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str
    observed_value: Any = None
    observed_unit: str = ""
    output: str = ""
    component_id: str = ""
    time: float = field(default_factory=time.time)

    @property
    def key(self) -> str:
        """Unique per measured thing: `broker:queueDepth/summarize`."""
        return f"{self.name}/{self.component_id}" if self.component_id else self.name

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.component_id:
            out["componentId"] = self.component_id
        if self.observed_value is not None:
            out["observedValue"] = self.observed_value
        if self.observed_unit:
            out["observedUnit"] = self.observed_unit
        out["time"] = dt.datetime.fromtimestamp(self.time, dt.UTC).isoformat(timespec="seconds")
        if self.output:
            out["output"] = self.output
        return out

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> CheckResult:
        stamp = data.get("time")
        when = dt.datetime.fromisoformat(stamp).timestamp() if isinstance(stamp, str) else time.time()
        return cls(name, str(data.get("status", "fail")), data.get("observedValue"),
                   str(data.get("observedUnit", "")), str(data.get("output", "")),
                   str(data.get("componentId", "")), when)


@dataclass
class HealthContext:
    """What a check may use. `tick` is called between slow steps (it feeds the watchdog)."""

    config: Config
    services: Services
    clock: Callable[[], float] = time.time
    tick: Callable[[], None] = field(default=lambda: None)
    sleep: Callable[[float], None] = time.sleep
    state: dict[str, Any] = field(default_factory=dict)


CheckFn = Callable[[HealthContext], list[CheckResult]]


@dataclass(frozen=True)
class Check:
    """A registered check. `target` is the function, or "module:function" imported when first run,
    so the registry names the monitor's probes without importing the monitor."""

    name: str
    target: CheckFn | str
    monitor_only: bool = False
    unit: str = ""  # the systemd unit restarted when this check keeps failing ("" = mail only)
    description: str = ""

    @property
    def fn(self) -> CheckFn:
        if callable(self.target):
            return self.target
        module, _, attribute = self.target.partition(":")
        found: CheckFn = getattr(importlib.import_module(module), attribute)
        return found


def safe_error(exc: BaseException) -> str:
    """An error description without secrets or stack traces: the type and a short message."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    for marker in ("://", "password", "token", "key="):
        if marker in text.lower():
            text = ""
            break
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


# -- the registry -------------------------------------------------------------------------

WEB_UNIT = "studybuddy-web.service"
WORKER_UNIT = "studybuddy-worker.service"
_LOCAL = "studybuddy.health"
_PROBES = "studybuddy.monitor.probes"

CHECKS: dict[str, Check] = {
    "store": Check("store", f"{_LOCAL}:check_store", description="store write, read and delete"),
    "broker": Check("broker", f"{_LOCAL}:check_broker", unit=WORKER_UNIT,
                    description="broker connection; depth and consumers of each queue"),
    "jobs": Check("jobs", f"{_LOCAL}:check_jobs", description="jobs by state"),
    "disk": Check("disk", f"{_LOCAL}:check_disk", description="free disk in the state directory"),
    "version": Check("version", f"{_LOCAL}:check_version", description="installed version"),
    "backup": Check("backup", "studybuddy.backup.check:check_backup",
                    description="age of the newest backup archive; free space where backups go"),
    "web": Check("web", f"{_PROBES}:probe_web", monitor_only=True, unit=WEB_UNIT,
                 description="GET /health/ready over HTTP"),
    "canary": Check("canary", f"{_PROBES}:probe_canary", monitor_only=True, unit=WORKER_UNIT,
                    description="a ping job through every queue, end to end"),
    "upload": Check("upload", f"{_PROBES}:probe_upload", monitor_only=True, unit=WORKER_UNIT,
                    description="upload a document over HTTP, wait until ready, delete it"),
    "ai": Check("ai", f"{_PROBES}:probe_ai", monitor_only=True,
                description="a minimal real call to each configured AI provider"),
    "units": Check("units", f"{_PROBES}:probe_units", monitor_only=True,
                   description="systemd state, restarts, memory and CPU of each unit"),
}

# The result names each monitor-only check produces.
RESULT_PREFIXES: dict[str, tuple[str, ...]] = {
    "web": ("web:",), "canary": ("canary:",), "upload": ("upload:",), "ai": ("ai:",),
    "units": ("unit:", "process:"),
}


def run_check(check: Check, ctx: HealthContext) -> list[CheckResult]:
    """Run one check; a crash in the check itself is a failed result, never an exception."""
    try:
        return check.fn(ctx)
    except Exception as exc:
        log.exception("health check %s crashed", check.name)
        return [CheckResult(f"{check.name}:check", "fail", output=safe_error(exc))]


def run_checks(ctx: HealthContext, names: list[str] | None = None,
               include_monitor: bool = False) -> list[CheckResult]:
    results: list[CheckResult] = []
    for name, check in CHECKS.items():
        if names is not None and name not in names:
            continue
        if check.monitor_only and not include_monitor and names is None:
            continue
        results.extend(run_check(check, ctx))
        ctx.tick()
    return results


def overall_status(results: list[CheckResult]) -> str:
    worst = 0
    for r in results:
        worst = max(worst, STATUSES.index(r.status) if r.status in STATUSES else 2)
    return STATUSES[worst]
