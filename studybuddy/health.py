"""The one place health checks live: used by /health/*, the monitor and `studybuddy status`.

The registry and the result types are in `studybuddy.checks` (below this module and the
monitor, which both use them); this module holds the cheap local checks, readiness and the
application/health+json document. The names below are re-exported for the callers.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .checks import (  # noqa: F401 - re-exported: the health module is where callers look
    CHECKS,
    RESULT_PREFIXES,
    STATUSES,
    Check,
    CheckFn,
    CheckResult,
    HealthContext,
    ms,
    overall_status,
    run_check,
    run_checks,
    safe_error,
)
from .store.models import Item, new_id

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger(__name__)


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


def storage_dirs(config: Any) -> list[Path]:
    """Where the store writes: the state directory and, for SQLite, the database's directory."""
    dirs = [config.state_path]
    url = config.storage_url
    if url.startswith("sqlite:///"):
        dirs.append(Path(url[len("sqlite:///"):]).parent)
    return list(dict.fromkeys(dirs))


def check_free_space(config: Any) -> CheckResult:
    """Readiness fails below `web.min_free_mb` free where the store writes (0: never)."""
    floor = config.web.min_free_mb
    free: list[int] = []
    for path in storage_dirs(config):
        while not path.exists() and path != path.parent:
            path = path.parent
        try:
            free.append(shutil.disk_usage(path).free // (1024 * 1024))
        except OSError as exc:
            return CheckResult("disk:free", "fail", output=safe_error(exc))
    least = min(free)
    if floor and least < floor:
        return CheckResult("disk:free", "fail", least, "MiB",
                           f"only {least} MiB free where the store writes; at least {floor} MiB are needed")
    return CheckResult("disk:free", "pass", least, "MiB")


def readiness(services: Services) -> list[CheckResult]:
    """Store and broker reachable, and room to write: what /health/ready answers."""
    out: list[CheckResult] = [check_free_space(services.config)]
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


def last_monitor_results(store: Any, check: str, latest: dict[str, Any] | None = None) -> list[CheckResult]:
    """What the monitor's last rounds found for one of its own checks (kept in the store; pass
    `latest` when it was read already)."""
    if latest is None:
        latest = store.monitor.get_state("latest") or {}
    prefixes = RESULT_PREFIXES.get(check, (f"{check}:",))
    return [CheckResult.from_json(v["name"], v) for _, v in sorted(latest.items())
            if str(v.get("name", "")).startswith(prefixes)]


def detailed_results(services: "Services") -> list[CheckResult]:
    """Every check for the detailed views: the live ones run now, and the monitor's own end-to-end
    probes as its last rounds found them (one read of what it kept)."""
    ctx = HealthContext(services.config, services)
    results = run_checks(ctx, [name for name, c in CHECKS.items() if not c.monitor_only])
    latest = services.store.monitor.get_state("latest") or {}
    for name, check in CHECKS.items():
        if check.monitor_only:
            results.extend(last_monitor_results(services.store, name, latest))
    return results
