"""The one place health checks live: used by /health/*, the monitor and `studybuddy status`.

A check is a function from a `HealthContext` to a list of `CheckResult`s. Results are named
`component:measurement` (the application/health+json convention), with an optional
`component_id` (a queue, a unit) when one check measures several things. The monitor's
end-to-end probes (canary jobs, a real upload, AI providers, systemd units) are registered
here too and implemented in `studybuddy.monitor.probes`.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import __version__
from .store.models import Item, new_id

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
    name: str
    fn: CheckFn
    monitor_only: bool = False
    unit: str = ""  # the systemd unit restarted when this check keeps failing ("" = mail only)
    description: str = ""


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


# -- local checks (cheap; also served by /health/detailed) ----------------------------------

def check_store(ctx: HealthContext) -> list[CheckResult]:
    """Write, read and delete a record."""
    store = ctx.services.store
    started = time.perf_counter()
    try:
        store.ping()
        item = store.items.add(Item(id=new_id(), kind="health_probe", owner_id="health",
                                    data={"at": ctx.clock()}))
        back = store.items.get(item.id)
        store.items.delete(item.id)
        if back is None or back.data != item.data:
            return [CheckResult("store:responseTime", "fail", output="a written record read back wrong")]
        if store.items.get(item.id) is not None:
            return [CheckResult("store:responseTime", "fail", output="a deleted record is still there")]
    except Exception as exc:  # noqa: BLE001 - any store failure is the finding
        return [CheckResult("store:responseTime", "fail", output=safe_error(exc))]
    return [CheckResult("store:responseTime", "pass", ms(time.perf_counter() - started), "ms")]


def check_broker(ctx: HealthContext) -> list[CheckResult]:
    """Connection latency, then depth and consumers of each queue."""
    broker = ctx.services.broker
    try:
        latency = broker.ping()
        stats = broker.queue_stats()
    except Exception as exc:  # noqa: BLE001
        return [CheckResult("broker:connection", "fail", output=safe_error(exc))]
    results = [CheckResult("broker:connection", "pass", ms(latency), "ms")]
    warn_at = ctx.config.monitor.queue_depth_warn
    for queue, (depth, consumers) in sorted(stats.items()):
        status = "warn" if depth > warn_at else "pass"
        results.append(CheckResult("broker:queueDepth", status, depth, "messages",
                                   f"more than {warn_at} waiting" if status == "warn" else "",
                                   component_id=queue))
        if broker.is_memory:
            # The in-process transport does not count consumers; the canary proves them.
            continue
        status = "pass" if consumers > 0 else "fail"
        results.append(CheckResult("broker:consumers", status, consumers, "consumers",
                                   "no worker consumes this queue" if consumers == 0 else "",
                                   component_id=queue))
    return results


def check_jobs(ctx: HealthContext) -> list[CheckResult]:
    try:
        counts = ctx.services.store.jobs.count_by_state()
    except Exception as exc:  # noqa: BLE001
        return [CheckResult("jobs:count", "fail", output=safe_error(exc))]
    return [CheckResult("jobs:count", "pass", {k: int(v) for k, v in sorted(counts.items())}, "jobs")]


def check_disk(ctx: HealthContext) -> list[CheckResult]:
    path = ctx.config.state_path
    try:
        usage = shutil.disk_usage(path if path.exists() else path.parent)
    except OSError as exc:
        return [CheckResult("disk:free", "fail", output=safe_error(exc))]
    free_mb = usage.free // (1024 * 1024)
    warn = ctx.config.monitor.disk_free_warn_mb
    if free_mb < warn / 10:
        status, output = "fail", f"only {free_mb} MiB free in the state directory"
    elif free_mb < warn:
        status, output = "warn", f"less than {warn} MiB free in the state directory"
    else:
        status, output = "pass", ""
    return [CheckResult("disk:free", status, int(free_mb), "MiB", output)]


@functools.lru_cache(maxsize=1)
def installed_version() -> str:
    """The Debian package's version when installed from the .deb, else the Python package's.

    Cached for the life of the process: an upgrade restarts the services."""
    dpkg = shutil.which("dpkg-query")
    if dpkg:
        try:
            proc = subprocess.run([dpkg, "-W", "-f=${Version}", "studybuddy"], capture_output=True,
                                  text=True, timeout=5, check=False)
            if proc.returncode == 0 and proc.stdout.strip():
                return proc.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        return importlib.metadata.version("studybuddy")
    except importlib.metadata.PackageNotFoundError:
        return __version__


def check_version(ctx: HealthContext) -> list[CheckResult]:
    return [CheckResult("app:version", "pass", installed_version())]


# -- the registry -------------------------------------------------------------------------

def _monitor_probe(name: str) -> CheckFn:
    def run(ctx: HealthContext) -> list[CheckResult]:
        from .monitor import probes

        result: list[CheckResult] = getattr(probes, name)(ctx)
        return result

    run.__name__ = name
    return run


def _backup_check(ctx: HealthContext) -> list[CheckResult]:
    from .backup.check import check_backup

    return check_backup(ctx)


WEB_UNIT = "studybuddy-web.service"
WORKER_UNIT = "studybuddy-worker.service"

CHECKS: dict[str, Check] = {
    "store": Check("store", check_store, description="store write, read and delete"),
    "broker": Check("broker", check_broker, unit=WORKER_UNIT,
                    description="broker connection; depth and consumers of each queue"),
    "jobs": Check("jobs", check_jobs, description="jobs by state"),
    "disk": Check("disk", check_disk, description="free disk in the state directory"),
    "version": Check("version", check_version, description="installed version"),
    "backup": Check("backup", _backup_check,
                    description="age of the newest backup archive; free space where backups go"),
    "web": Check("web", _monitor_probe("probe_web"), monitor_only=True, unit=WEB_UNIT,
                 description="GET /health/ready over HTTP"),
    "canary": Check("canary", _monitor_probe("probe_canary"), monitor_only=True, unit=WORKER_UNIT,
                    description="a ping job through every queue, end to end"),
    "upload": Check("upload", _monitor_probe("probe_upload"), monitor_only=True, unit=WORKER_UNIT,
                    description="upload a document over HTTP, wait until ready, delete it"),
    "ai": Check("ai", _monitor_probe("probe_ai"), monitor_only=True,
                description="a minimal real call to each configured AI provider"),
    "units": Check("units", _monitor_probe("probe_units"), monitor_only=True,
                   description="systemd state, restarts, memory and CPU of each unit"),
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


def health_json(results: list[CheckResult], *, version: str | None = None,
                service_id: str = "studybuddy") -> dict[str, Any]:
    """The application/health+json document."""
    checks: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        checks.setdefault(r.name, []).append(r.to_json())
    return {
        "status": overall_status(results),
        "version": version or installed_version(),
        "serviceId": service_id,
        "description": "StudyBuddy health",
        "checks": checks,
    }


def readiness(services: Services) -> list[CheckResult]:
    """Store and broker reachable: what /health/ready answers."""
    out: list[CheckResult] = []
    started = time.perf_counter()
    try:
        services.store.ping()
        out.append(CheckResult("store:responseTime", "pass", ms(time.perf_counter() - started), "ms"))
    except Exception as exc:  # noqa: BLE001
        out.append(CheckResult("store:responseTime", "fail", output=safe_error(exc)))
    try:
        latency = services.broker.ping()
        out.append(CheckResult("broker:connection", "pass", ms(latency), "ms"))
    except Exception as exc:  # noqa: BLE001
        out.append(CheckResult("broker:connection", "fail", output=safe_error(exc)))
    return out


# The result names each monitor-only check produces.
RESULT_PREFIXES: dict[str, tuple[str, ...]] = {
    "web": ("web:",), "canary": ("canary:",), "upload": ("upload:",), "ai": ("ai:",),
    "units": ("unit:", "process:"),
}


def last_monitor_results(store: Any, check: str) -> list[CheckResult]:
    """What the monitor's last rounds found for one of its own checks (kept in the store)."""
    latest = store.monitor.get_state("latest") or {}
    prefixes = RESULT_PREFIXES.get(check, (f"{check}:",))
    return [CheckResult.from_json(v["name"], v) for _, v in sorted(latest.items())
            if str(v.get("name", "")).startswith(prefixes)]

