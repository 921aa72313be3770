"""The monitor's end-to-end probes (named in the registry, studybuddy.checks.CHECKS)."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..config import QUEUE_NAMES
from ..checks import CheckResult, HealthContext, ms, safe_error
from .httpclient import HttpClient, HttpError
from .restarter import Restarter, stopped_on_purpose, under_systemd

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
AI_PROBE_LIMIT_SECONDS = 90.0
# Ping jobs the store would not delete yet (it may be what fails); the next round tries again.
LEFTOVER_CANARIES = "leftover_canaries"


def _url(ctx: HealthContext, path: str) -> str:
    return ctx.config.monitor.web_url.rstrip("/") + path


# -- web ------------------------------------------------------------------------------------

def probe_web(ctx: HealthContext) -> list[CheckResult]:
    client = HttpClient(timeout=10.0)
    started = time.perf_counter()
    try:
        status, body = client.request("GET", _url(ctx, "/health/ready"))
    except HttpError as exc:
        return [CheckResult("web:responseTime", "fail", output=str(exc))]
    elapsed = ms(time.perf_counter() - started)
    try:
        verdict = json.loads(body).get("status", "")
    except (ValueError, AttributeError):
        verdict = ""
    if status != 200 or verdict not in ("pass", "warn"):
        return [CheckResult("web:responseTime", "fail", elapsed, "ms",
                            f"/health/ready answered {status} {verdict or 'without a status'}".strip())]
    return [CheckResult("web:responseTime", "pass", elapsed, "ms")]


# -- canary jobs ----------------------------------------------------------------------------

def monitor_owner_id(ctx: HealthContext) -> str:
    user = ctx.services.store.users.get_by_email(ctx.config.monitor.account_email)
    return user.id if user is not None else "monitor"


def probe_canary(ctx: HealthContext) -> list[CheckResult]:
    """A `ping` job on each of the six queues, submitted together, each waited for end to end.

    Whatever the outcome, the ping jobs it made are cancelled and deleted before it returns: a
    canary that got no answer (broker or worker down) leaves nothing for the reaper to publish
    later, and a message still in a queue finds no job and is dropped by the worker."""
    from ..jobs import submit_job

    owner = monitor_owner_id(ctx)
    # "stale_canaries": ping jobs an earlier version of this probe left queued on purpose.
    _discard_canaries(ctx, owner, list(ctx.state.pop("stale_canaries", [])) +
                      list(ctx.state.pop(LEFTOVER_CANARIES, [])))
    submitted: dict[str, tuple[str, float]] = {}
    results: list[CheckResult] = []
    try:
        for queue in QUEUE_NAMES:
            try:
                submitted[queue] = (submit_job(ctx.services, "ping", owner, params={"queue": queue}).id,
                                    time.perf_counter())
            except Exception as exc:  # noqa: BLE001
                results.append(CheckResult("canary:latency", "fail", output=safe_error(exc), component_id=queue))
            ctx.tick()
        results.extend(_await_canaries(ctx, submitted))
    finally:
        _discard_canaries(ctx, owner, [job_id for job_id, _ in submitted.values()])
    return sorted(results, key=lambda r: r.component_id)


def _await_canaries(ctx: HealthContext, submitted: dict[str, tuple[str, float]]) -> list[CheckResult]:
    store = ctx.services.store
    results: list[CheckResult] = []
    deadline = time.monotonic() + ctx.config.monitor.canary_timeout_seconds
    pending = dict(submitted)
    while pending:
        for queue, (job_id, started) in list(pending.items()):
            job = store.jobs.get(job_id)
            if job is None or job.finished:
                del pending[queue]
                if job is not None and job.state == "succeeded":
                    results.append(CheckResult("canary:latency", "pass", ms(time.perf_counter() - started),
                                               "ms", component_id=queue))
                else:
                    why = f"ping job {job.state}" if job is not None else "ping job vanished"
                    results.append(CheckResult("canary:latency", "fail", output=why, component_id=queue))
        if not pending:
            break
        if time.monotonic() > deadline:
            for queue, (job_id, _) in pending.items():
                job = store.jobs.get(job_id)
                where = f"still {job.state}" if job is not None else "vanished"
                if job is not None and job.state == "queued" and job.dispatched_at is None:
                    where += ", never published: is the broker down?"
                results.append(CheckResult(
                    "canary:latency", "fail",
                    output=f"no answer in {ctx.config.monitor.canary_timeout_seconds:.0f}s (job {where})",
                    component_id=queue))
            break
        ctx.tick()
        ctx.sleep(POLL_SECONDS)
    return results


def _discard_canaries(ctx: HealthContext, owner: str, job_ids: list[str]) -> None:
    """Cancel (a worker running one loses it) and delete ping jobs; what the store refuses now is
    remembered in the probe state and tried again next round."""
    store = ctx.services.store
    left: list[str] = []
    for job_id in job_ids:
        try:
            store.jobs.cancel(job_id, owner, time.time())
            store.jobs.delete(job_id)
        except Exception as exc:  # noqa: BLE001 - the store may be what is failing
            log.warning("could not delete canary job %s: %s", job_id, safe_error(exc))
            left.append(job_id)
    if left:
        ctx.state[LEFTOVER_CANARIES] = [*ctx.state.get(LEFTOVER_CANARIES, []), *left]


# -- a real upload --------------------------------------------------------------------------

PROBE_COURSE = "StudyBuddy monitor probe"


def ensure_monitor_account(ctx: HealthContext) -> None:
    """The dedicated, non-admin account the upload probe logs in with."""
    from ..accounts import AccountError, create_user

    mc = ctx.config.monitor
    store = ctx.services.store
    if store.users.get_by_email(mc.account_email) is None:
        try:
            create_user(store, mc.account_email, mc.account_password, "StudyBuddy monitor", is_admin=False)
            log.info("created the monitor account %s", mc.account_email)
        except AccountError as exc:
            log.warning("could not create the monitor account: %s", exc)


def probe_upload(ctx: HealthContext) -> list[CheckResult]:
    """Log in as the monitor account, upload a small text document, wait for ready, delete it."""
    mc = ctx.config.monitor
    if not mc.account_password:
        return [CheckResult("upload:roundTrip", "warn",
                            output="monitor.account_password is not set: the upload probe cannot log in")]
    ensure_monitor_account(ctx)
    client = HttpClient(timeout=15.0)
    started = time.perf_counter()
    course_id = document_id = ""
    try:
        client.login(_url(ctx, "/login"), mc.account_email, mc.account_password)
        _remove_leftover_courses(ctx, client)
        status, body = client.request("POST", _url(ctx, "/api/v1/courses"), json_body={"name": PROBE_COURSE})
        if status != 201:
            return [CheckResult("upload:roundTrip", "fail", output=f"creating the probe course: HTTP {status}")]
        course_id = json.loads(body)["id"]
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        text = (f"StudyBuddy monitor probe {stamp}.\nבדיקת העלאה של המערכת.\n"
                "The capybara is the largest living rodent.\n").encode()
        status, body = client.upload(_url(ctx, f"/api/v1/courses/{course_id}/documents"), "files",
                                     "monitor-probe.txt", text, "text/plain")
        if status != 201:
            return [CheckResult("upload:roundTrip", "fail", output=f"upload answered HTTP {status}")]
        document_id = json.loads(body)["documents"][0]["id"]
        deadline = time.monotonic() + mc.upload_timeout_seconds
        doc_status = ""
        while time.monotonic() < deadline:
            status, body = client.request("GET", _url(ctx, f"/api/v1/documents/{document_id}"))
            doc_status = json.loads(body).get("status", "") if status == 200 else f"HTTP {status}"
            if doc_status in ("ready", "failed") or status != 200:
                break
            ctx.tick()
            ctx.sleep(0.2)
        elapsed = ms(time.perf_counter() - started)
        if doc_status != "ready":
            return [CheckResult("upload:roundTrip", "fail", elapsed, "ms",
                                f"the document is {doc_status or 'unprocessed'} after "
                                f"{time.perf_counter() - started:.0f}s")]
        status, _ = client.request("DELETE", _url(ctx, f"/api/v1/documents/{document_id}"))
        if status != 200:
            return [CheckResult("upload:roundTrip", "fail", elapsed, "ms",
                                f"deleting the document answered HTTP {status}")]
        document_id = ""
        return [CheckResult("upload:roundTrip", "pass", ms(time.perf_counter() - started), "ms")]
    except (HttpError, ValueError, KeyError, IndexError, TypeError) as exc:
        return [CheckResult("upload:roundTrip", "fail", output=safe_error(exc))]
    finally:
        # The course goes too (and with it a document left behind by a failure).
        if course_id:
            try:
                client.request("DELETE", _url(ctx, f"/api/v1/courses/{course_id}"))
            except HttpError as exc:
                log.warning("could not delete the probe course: %s", exc)


def _remove_leftover_courses(ctx: HealthContext, client: HttpClient) -> None:
    """Probe courses an earlier probe could not delete (the web failed under it) go now."""
    store = ctx.services.store
    user = store.users.get_by_email(ctx.config.monitor.account_email)
    if user is None:
        return
    for course in store.courses.list_for_owner(user.id):
        if course.name != PROBE_COURSE:
            continue
        try:
            status, _ = client.request("DELETE", _url(ctx, f"/api/v1/courses/{course.id}"))
        except HttpError as exc:
            status = 0
            log.warning("could not delete a probe course left behind: %s", exc)
        if status == 200:
            log.info("deleted probe course %s left behind by an earlier probe", course.id)


# -- AI providers ---------------------------------------------------------------------------

def probe_ai(ctx: HealthContext) -> list[CheckResult]:
    """A minimal real call per configured provider, at most every monitor.ai_probe_interval_seconds."""
    now = ctx.clock()
    cached = ctx.state.get("ai")
    if cached and now - cached["at"] < ctx.config.monitor.ai_probe_interval_seconds:
        return [CheckResult.from_json(r["name"], r["json"]) for r in cached["results"]]
    from ..ai import configured_providers

    results: list[CheckResult] = []
    limit = AI_PROBE_LIMIT_SECONDS
    for name, provider in sorted(configured_providers(ctx.config).items()):
        # The call runs beside the loop, which keeps ticking (and feeding the watchdog) while it
        # waits, up to a bounded time: a stalled provider fails its check, not the monitor.
        outcome: dict[str, Any] = {}

        def call(p: Any = provider, out: dict[str, Any] = outcome) -> None:
            try:
                p.probe()
                out["ok"] = True
            except Exception as exc:  # noqa: BLE001 - the error is the finding
                out["error"] = exc

        started = time.perf_counter()
        worker = threading.Thread(target=call, name=f"ai-probe-{name}", daemon=True)
        worker.start()
        while worker.is_alive() and time.perf_counter() - started < limit:
            worker.join(0.5)
            ctx.tick()
        if "ok" in outcome:
            results.append(CheckResult("ai:responseTime", "pass", ms(time.perf_counter() - started), "ms",
                                       component_id=name))
        elif "error" in outcome:
            results.append(CheckResult("ai:responseTime", "fail", output=safe_error(outcome["error"]),
                                       component_id=name))
        else:
            results.append(CheckResult("ai:responseTime", "fail", output=f"no answer within {limit:.0f}s",
                                       component_id=name))
    ctx.state["ai"] = {"at": now, "results": [{"name": r.name, "json": r.to_json()} for r in results]}
    return results


# -- systemd units --------------------------------------------------------------------------

def _cgroup_pids(control_group: str) -> list[int]:
    if not control_group:
        return []
    pids: list[int] = []
    root = Path("/sys/fs/cgroup") / control_group.lstrip("/")
    for procs in [root / "cgroup.procs", *root.glob("*/cgroup.procs")]:
        try:
            pids.extend(int(p) for p in procs.read_text().split())
        except (OSError, ValueError):
            continue
    return pids


def _unit_usage(props: dict[str, str]) -> tuple[float | None, float | None]:
    """Resident memory (MiB) of the unit's processes via psutil, and its CPU time in seconds."""
    import psutil

    rss = 0
    cpu = 0.0
    seen = False
    for pid in _cgroup_pids(props.get("ControlGroup", "")) or (
            [int(props["MainPID"])] if props.get("MainPID", "0").isdigit() and props["MainPID"] != "0" else []):
        try:
            proc = psutil.Process(pid)
            rss += proc.memory_info().rss
            times = proc.cpu_times()
            cpu += times.user + times.system
            seen = True
        except (psutil.Error, OSError):
            continue
    if seen:
        return rss / (1024 * 1024), cpu
    memory = props.get("MemoryCurrent", "")
    cpu_ns = props.get("CPUUsageNSec", "")
    return (int(memory) / (1024 * 1024) if memory.isdigit() else None,
            int(cpu_ns) / 1e9 if cpu_ns.isdigit() else None)


def probe_units(ctx: HealthContext) -> list[CheckResult]:
    mc = ctx.config.monitor
    if not under_systemd():
        return [CheckResult("unit:activeState", "warn", output="not running under systemd", component_id=u)
                for u in mc.units]
    restarter = Restarter(mc.units, mc.systemctl, mc.command_timeout_seconds)
    results: list[CheckResult] = []
    previous: dict[str, Any] = ctx.state.setdefault("units", {})
    now = ctx.clock()
    for unit in mc.units:
        try:
            props = restarter.show(unit)
        except RuntimeError as exc:
            results.append(CheckResult("unit:activeState", "fail", output=f"systemctl show: {exc}",
                                       component_id=unit))
            continue
        active = props.get("ActiveState", "unknown")
        sub = props.get("SubState", "")
        if active == "active":
            status, output = "pass", ""
        elif active in ("activating", "reloading", "deactivating") or stopped_on_purpose(props):
            status, output = "warn", f"{active}, result {props.get('Result', '')}"
        else:
            status, output = "fail", f"{active}, result {props.get('Result', '')}"
        results.append(CheckResult("unit:activeState", status, f"{active}/{sub}", output=output,
                                   component_id=unit))
        restarts = int(props["NRestarts"]) if props.get("NRestarts", "").isdigit() else 0
        before = previous.get(unit, {}).get("restarts", restarts)
        results.append(CheckResult("unit:restarts", "warn" if restarts > before else "pass", restarts,
                                   "restarts", "systemd restarted it since the last round"
                                   if restarts > before else "", component_id=unit))
        memory_mb, cpu_s = _unit_usage(props)
        if memory_mb is not None:
            warn = memory_mb > mc.memory_warn_mb
            results.append(CheckResult("process:memory", "warn" if warn else "pass", round(memory_mb, 1), "MiB",
                                       f"above {mc.memory_warn_mb} MiB" if warn else "", component_id=unit))
        last = previous.get(unit, {})
        if cpu_s is not None and last.get("cpu") is not None and now > last.get("at", now):
            percent = max(cpu_s - last["cpu"], 0.0) / (now - last["at"]) * 100 / (os.cpu_count() or 1)
            results.append(CheckResult("process:cpu", "pass", round(percent, 1), "%", component_id=unit))
        previous[unit] = {"restarts": restarts, "cpu": cpu_s, "at": now}
        ctx.tick()
    return results
