"""The monitor: a schedule loop of probe rounds, the incident policy, alerts and the daily report."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from ..checks import CHECKS, CheckResult, HealthContext, run_check, safe_error
from ..services import Services
from ..store.models import MonitorEvent, new_id
from ..systemd import Notifier, watchdog_interval
from .alerts import Alert, Alerter
from .blame import MONITOR_UNIT, Blame, assign
from .mailer import Mailer, MailError
from .policy import Policy
from .report import build_report, mark_sent, report_due
from .restarter import Restarter, stopped_on_purpose, under_systemd
from .startup import mark_running, wait_until_started

log = logging.getLogger(__name__)

PROBE_STATE_KEY = "probes"
LATEST_KEY = "latest"


class MonitorStopping(BaseException):
    """Raised from inside a round when SIGTERM arrives (BaseException: no check swallows it)."""


@dataclass
class RoundOutcome:
    results: list[CheckResult]
    actions: list[str]
    duration: float
    timings: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "warn": 0, "fail": 0}
        for r in self.results:
            out[r.status if r.status in out else "fail"] += 1
        return out


class Monitor:
    def __init__(
        self,
        services: Services,
        *,
        notifier: Notifier | None = None,
        clock: Callable[[], float] = time.time,
        mailer: Mailer | None = None,
        restarter: Restarter | None = None,
        checks: list[str] | None = None,
        host: str | None = None,
        systemd: Callable[[], bool] | None = None,
    ):
        self.services = services
        self.config = services.config
        self.store = services.store
        self.clock = clock
        self.notifier = notifier or Notifier()
        self.host = host or socket.getfqdn()
        mc = self.config.monitor
        self.mailer = mailer or Mailer(self.config.mail, self.host)
        self.restarter = restarter or Restarter(mc.units, mc.systemctl, mc.command_timeout_seconds)
        # Whether systemd runs here; without it no systemctl command is run at all.
        self.systemd = systemd or (lambda: under_systemd())
        self.alerter = Alerter(self.store, self.config, self.mailer, clock, self.host)
        self.policy = Policy(self.store, self.config, self.restarter, self.alerter, clock,
                             stopped_on_purpose=self._stopped_on_purpose, systemd=self.systemd)
        self.check_names = checks or list(CHECKS)
        self.stop_event = threading.Event()
        self._watchdog_every = watchdog_interval()
        self._last_ping = 0.0
        self.last_round: RoundOutcome | None = None
        self._last_direct_alert = float("-inf")

    # -- watchdog -----------------------------------------------------------------------------
    def _tick(self) -> None:
        """Called between probe steps: proves the loop advances, and honours SIGTERM."""
        if self.stop_event.is_set():
            raise MonitorStopping
        if self._watchdog_every and time.monotonic() - self._last_ping >= self._watchdog_every:
            self.notifier.watchdog()
            self._last_ping = time.monotonic()

    def _sleep(self, seconds: float) -> None:
        if self.stop_event.wait(seconds):
            raise MonitorStopping

    def _stopped_on_purpose(self, unit: str) -> bool:
        if not self.systemd():
            return False
        try:
            return stopped_on_purpose(self.restarter.show(unit))
        except RuntimeError as exc:
            log.warning("cannot read the state of %s: %s", unit, exc)
            return False

    # -- one round ----------------------------------------------------------------------------
    def run_round(self) -> RoundOutcome:
        started = time.perf_counter()
        try:
            self.alerter.flush()
        except Exception:
            log.exception("retrying queued mail failed")
        probe_state = self.store.monitor.get_state(PROBE_STATE_KEY) or {}
        ctx = HealthContext(self.config, self.services, clock=self.clock, tick=self._tick,
                            sleep=self._sleep, state=probe_state)
        results: list[CheckResult] = []
        named: list[tuple[str, CheckResult]] = []
        timings: dict[str, float] = {}
        for name in self.check_names:
            t0 = time.perf_counter()
            for result in run_check(CHECKS[name], ctx):
                results.append(result)
                named.append((name, result))
            timings[name] = time.perf_counter() - t0
            self._tick()
        self.store.monitor.set_state(PROBE_STATE_KEY, ctx.state)
        latest = self.store.monitor.get_state(LATEST_KEY) or {}
        latest.update({r.key: {"name": r.name, **r.to_json()} for r in results})
        self.store.monitor.set_state(LATEST_KEY, latest)
        now = self.clock()
        self.store.monitor.add_event(MonitorEvent(
            new_id(), "round", "", {"results": {r.key: r.status for r in results},
                                    "duration": time.perf_counter() - started}, now))
        blames: dict[str, Blame] = assign(named, self.config.monitor.units)
        actions = self.policy.observe(results, lambda r: blames[r.key])
        outcome = RoundOutcome(results, actions, time.perf_counter() - started, timings)
        self.last_round = outcome
        c = outcome.counts()
        local = dt.datetime.fromtimestamp(now, ZoneInfo(self.config.app.timezone)).strftime("%H:%M")
        line = f"last round {local}: {c['pass']} pass, {c['warn']} warn, {c['fail']} fail"
        if actions:
            line += " — " + "; ".join(actions)
        self.notifier.status(line)
        for action in actions:
            log.warning("monitor: %s", action)
        log.info("%s (%.1fs)", line, outcome.duration)
        return outcome

    def maybe_report(self) -> bool:
        """Send the daily report if it is due; returns whether it was sent (or queued)."""
        now = self.clock()
        date = report_due(self.config, self.store, now)
        if not date:
            return False
        latest = self.store.monitor.get_state(LATEST_KEY) or {}
        mail = build_report(self.config, self.store, now, self.host, latest)
        outcome = self.alerter.send_mail(mail, "report")
        mark_sent(self.store, date)
        self.store.monitor.add_event(MonitorEvent(new_id(), "report", "", {"date": date, "outcome": outcome},
                                                  now))
        log.info("daily report %s: %s", date, outcome)
        return True

    def notify_gave_up(self, unit: str, detail: str = "") -> str:
        """systemd gave up on a unit (its OnFailure= hook): a critical mail, de-duplicated."""
        self.store.monitor.add_event(MonitorEvent(new_id(), "gave_up", unit, {"detail": detail}, self.clock()))
        return self.alerter.alert(Alert("gave_up", f"systemd:{unit}", "gave_up", detail, unit,
                                        "systemd stopped restarting it; a person is needed",
                                        since=self.clock()))

    def round_failed(self, exc: BaseException) -> str:
        """A round could not run at all (usually the store): mail directly, at most hourly."""
        now = self.clock()
        if now - self._last_direct_alert < self.config.mail.repeat_minutes * 60:
            return "duplicate"
        self._last_direct_alert = now
        if not self.mailer.enabled:
            return "disabled"
        alert = Alert("failing", "monitor:round", "failing", safe_error(exc), "",
                      "the monitor cannot run its probes or keep its state; a person is needed", since=now)
        try:
            self.mailer.send(self.alerter.render_alerts([alert]))
        except MailError as mail_exc:
            log.error("could not mail that the monitor round failed: %s", mail_exc)
            return "failed"
        return "sent"

    def wait_for_units(self) -> None:
        """Before the first round: the units we watch finish starting (a fresh install is not red)."""
        if not self.systemd():
            return
        watched = [u for u in self.config.monitor.units if u != MONITOR_UNIT]

        def status(text: str) -> None:
            self._tick()
            self.notifier.status(text)

        wait_until_started(self.restarter, watched, self.store, clock=time.monotonic, sleep=self._sleep,
                           status=status)

    # -- the loop -----------------------------------------------------------------------------
    def run_forever(self) -> None:
        interval = self.config.monitor.interval_seconds
        ping_every = self._watchdog_every or 30.0
        self.notifier.ready("starting: waiting for the units to finish starting")
        first = True
        try:
            try:
                self.wait_for_units()
            except MonitorStopping:
                raise
            except Exception:
                log.exception("could not wait for the units to finish starting; probing now")
            next_round = time.monotonic()
            while not self.stop_event.is_set():
                if time.monotonic() >= next_round:
                    next_round = time.monotonic() + interval
                    try:
                        self.run_round()
                        if first:
                            mark_running(self.store, self.clock())
                            first = False
                    except MonitorStopping:
                        raise
                    except Exception as exc:
                        # A broken round (the store went away) must not kill the loop.
                        log.exception("monitor round failed")
                        self.round_failed(exc)
                try:
                    self.maybe_report()
                except Exception:
                    log.exception("daily report failed")
                if self._watchdog_every:
                    self.notifier.watchdog()
                    self._last_ping = time.monotonic()
                self.stop_event.wait(max(0.0, min(next_round - time.monotonic(), ping_every)))
        except MonitorStopping:
            pass
        self.notifier.stopping("monitor stopping")

    def stop(self, *_: Any) -> None:
        self.stop_event.set()
