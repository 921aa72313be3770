"""Operations commands: `studybuddy monitor`, `status`, `probe NAME`, `notify-failure UNIT`."""

from __future__ import annotations

import json
import logging
import signal
import time
from typing import Any

import click

from .health import (
    CHECKS,
    CheckResult,
    HealthContext,
    health_json,
    installed_version,
    last_monitor_results,
    overall_status,
    run_check,
)
from .service_account import MONITOR_ACCOUNT

log = logging.getLogger(__name__)


def _services(obj: Any, *, read_only: bool = False, prefer_account: str = "") -> Any:
    """The services, opened as the account that owns the state (see Context.service_config)."""
    from .services import Services

    return Services(obj.service_config(read_only=read_only, prefer_account=prefer_account))


def _value(r: CheckResult) -> str:
    if r.observed_value is None:
        return ""
    if isinstance(r.observed_value, dict):
        return ", ".join(f"{k}={v}" for k, v in r.observed_value.items())
    return f"{r.observed_value}{' ' + r.observed_unit if r.observed_unit else ''}"


def _table(rows: list[dict[str, str]], columns: list[str]) -> str:
    widths = {c: max([len(c)] + [len(row.get(c, "")) for row in rows]) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip()]
    for row in rows:
        lines.append("  ".join(row.get(c, "").ljust(widths[c]) for c in columns).rstrip())
    return "\n".join(lines)


def _result_rows(results: list[CheckResult], policy: dict[str, Any] | None = None,
                 source: dict[str, str] | None = None) -> list[dict[str, str]]:
    policy = policy or {}
    source = source or {}
    rows = []
    for r in results:
        st = policy.get(r.key, {})
        rows.append({
            "check": r.key, "status": r.status, "value": _value(r)[:40],
            "strikes": str(st.get("strikes", "")) if st else "",
            "state": st.get("state", "") if st else "",
            "age": source.get(r.key, "now"),
            "output": r.output[:80],
        })
    return rows


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print application/health+json for machines.")
@click.option("--live", is_flag=True,
              help="Also run the monitor's end-to-end probes now (canary jobs, upload, AI, units) "
                   "instead of showing their last results.")
@click.pass_obj
def status(obj: Any, as_json: bool, live: bool) -> None:
    """Show every health check: local checks run now, the monitor's probes from its last round.

    Exits 1 when any check fails.
    """
    from .monitor.startup import startup_note

    services = _services(obj, read_only=True)
    try:
        ctx = HealthContext(services.config, services)
        results: list[CheckResult] = []
        source: dict[str, str] = {}
        now = time.time()
        starting = startup_note(services.store)
        latest = None if live else services.store.monitor.get_state("latest") or {}
        for name, check in CHECKS.items():
            if check.monitor_only and latest is not None:
                prefix_results = last_monitor_results(services.store, name, latest)
                if not prefix_results:
                    prefix_results = [CheckResult(f"{name}:probe", "warn",
                                                  output=starting or "not probed yet: is the monitor running?")]
                    source[f"{name}:probe"] = "never"
                for r in prefix_results:
                    source.setdefault(r.key, f"{max(now - r.time, 0) / 60:.0f}m ago")
                results.extend(prefix_results)
            else:
                results.extend(run_check(check, ctx))
        policy = (services.store.monitor.get_state("policy") or {}).get("checks", {})
        if as_json:
            body = health_json(results)
            body["monitor"] = {k: {"strikes": v.get("strikes", 0), "state": v.get("state", "ok")}
                               for k, v in policy.items()}
            click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        else:
            click.echo(_table(_result_rows(results, policy, source),
                              ["check", "status", "value", "strikes", "state", "age", "output"]))
            click.echo(f"\noverall: {overall_status(results)}")
    finally:
        services.close()
    if overall_status(results) == "fail":
        raise SystemExit(1)


@click.command("probe")
@click.argument("name", type=click.Choice(sorted(CHECKS)))
@click.option("--json", "as_json", is_flag=True, help="Print application/health+json.")
@click.pass_obj
def probe(obj: Any, name: str, as_json: bool) -> None:
    """Run one probe now and print its results (exit 1 if it fails)."""
    services = _services(obj, read_only=True)
    try:
        started = time.perf_counter()
        results = run_check(CHECKS[name], HealthContext(services.config, services))
        took = time.perf_counter() - started
    finally:
        services.close()
    if as_json:
        click.echo(json.dumps(health_json(results), ensure_ascii=False, indent=2))
    else:
        click.echo(_table(_result_rows(results), ["check", "status", "value", "output"]))
        click.echo(f"\n{name}: {overall_status(results)} in {took:.2f}s")
    if overall_status(results) == "fail":
        raise SystemExit(1)


@click.command("monitor")
@click.option("--once", is_flag=True, help="Run one probe round (with the policy) and exit.")
@click.pass_obj
def monitor(obj: Any, once: bool) -> None:
    """Run the monitor: probes on a schedule, strikes, restarts through systemctl, mail."""
    from .metrics import serve_metrics
    from .metrics.cluster import register_cluster_metrics
    from .monitor.service import Monitor

    services = _services(obj, prefer_account=MONITOR_ACCOUNT)
    try:
        mon = Monitor(services)
        if once:
            outcome = mon.run_round()
            mon.maybe_report()
            click.echo(_table(_result_rows(outcome.results, mon.policy.state["checks"]),
                              ["check", "status", "value", "strikes", "state", "output"]))
            for action in outcome.actions:
                click.echo(f"action: {action}")
            click.echo(f"\nround took {outcome.duration:.2f}s: {outcome.counts()}")
            if outcome.counts()["fail"]:
                raise SystemExit(1)
            return
        signal.signal(signal.SIGTERM, mon.stop)
        signal.signal(signal.SIGINT, mon.stop)
        register_cluster_metrics(services)
        serve_metrics(services.config, "monitor", installed_version())
        mon.run_forever()
    finally:
        services.close()


@click.command("notify-failure")
@click.argument("unit")
@click.pass_obj
def notify_failure(obj: Any, unit: str) -> None:
    """Mail the administrator that systemd gave up on UNIT (used by OnFailure=)."""
    from .monitor.restarter import Restarter, RestarterError
    from .monitor.service import Monitor

    services = _services(obj, prefer_account=MONITOR_ACCOUNT)
    try:
        mc = services.config.monitor
        detail = ""
        try:
            props = Restarter(mc.units, mc.systemctl, mc.command_timeout_seconds).show(unit)
            detail = (f"ActiveState={props.get('ActiveState', '')} Result={props.get('Result', '')} "
                      f"NRestarts={props.get('NRestarts', '')}")
        except (RestarterError, RuntimeError) as exc:
            detail = f"(systemctl show failed: {exc})"
        outcome = Monitor(services).notify_gave_up(unit, detail)
        click.echo(f"{unit}: {outcome}")
    finally:
        services.close()


COMMANDS = [monitor, status, probe, notify_failure]
