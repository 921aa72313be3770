"""The strike policy: consecutive failures, one restart per cooldown within systemd's start limit,
escalation when a restart does not cure, and recovery. State lives in the store."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..config import Config
from ..checks import CheckResult
from ..store import Store
from ..store.models import MonitorEvent, new_id
from .alerts import Alert, Alerter
from .restarter import Restarter

log = logging.getLogger(__name__)

STATE_KEY = "policy"


class Policy:
    def __init__(self, store: Store, config: Config, restarter: Restarter, alerter: Alerter,
                 clock: Callable[[], float] = time.time,
                 stopped_on_purpose: Callable[[str], bool] | None = None):
        self.store = store
        # Tells whether an administrator stopped the unit (inactive, not failed): left alone.
        self.stopped_on_purpose = stopped_on_purpose or (lambda unit: False)
        self.config = config
        self.restarter = restarter
        self.alerter = alerter
        self.clock = clock
        self.state = self._load()

    # -- persisted state ----------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        state = self.store.monitor.get_state(STATE_KEY) or {}
        state.setdefault("checks", {})
        state.setdefault("units", {})
        return state

    def save(self) -> None:
        self.store.monitor.set_state(STATE_KEY, self.state)

    def _event(self, kind: str, check: str, **data: Any) -> None:
        self.store.monitor.add_event(MonitorEvent(new_id(), kind, check, data, self.clock()))

    def check_state(self, key: str) -> dict[str, Any]:
        return dict(self.state["checks"].get(key) or {})

    def unit_state(self, unit: str) -> dict[str, Any]:
        st = self.state["units"].setdefault(unit, {})
        st.setdefault("restarts", [])
        return st

    # -- one round ----------------------------------------------------------------------------
    def observe(self, results: list[CheckResult], unit_for: Callable[[CheckResult], str]) -> list[str]:
        """Apply one round of results; returns what was done (for logs and tests)."""
        actions: list[str] = []
        now = self.clock()
        for result in results:
            st = self.state["checks"].setdefault(result.key, {
                "strikes": 0, "state": "ok", "since": now, "restarted_at": None, "incident": "",
            })
            unit = unit_for(result)
            st.update(last_status=result.status, last_output=result.output[:500], last_at=now, unit=unit)
            if result.status == "fail":
                if st["strikes"] == 0 and st["state"] == "ok":
                    st["first_fail"] = now
                st["strikes"] += 1
                if st["state"] == "ok" and st["strikes"] >= self.config.monitor.strikes:
                    actions.extend(self._open(result, st, unit, now))
                if st["state"] == "failing" and st["strikes"] >= self.config.monitor.strikes:
                    actions.extend(self._act(result, st, unit, now))
                elif st["state"] in ("failing", "escalated"):
                    # Still failing: the alerter repeats the mail at most every mail.repeat_minutes.
                    self.alerter.alert(Alert(st["state"], result.key, st["state"], result.output, unit,
                                             since=st["since"]))
            else:
                if st["state"] in ("failing", "escalated"):
                    actions.append(f"recovered {result.key}")
                    self._event("incident_close", result.key, incident=st["incident"],
                                duration=now - st["since"], state=st["state"])
                    self.alerter.alert(Alert("recovered", result.key, "recovered", result.output, unit,
                                             since=st["since"]))
                    st.update(state="ok", since=now, incident="")
                st.update(strikes=0, restarted_at=None)
        self.save()
        return actions

    def _open(self, result: CheckResult, st: dict[str, Any], unit: str, now: float) -> list[str]:
        # The incident started with its first failing round, not with the third.
        st.update(state="failing", since=st.get("first_fail", now), incident=new_id())
        self._event("incident_open", result.key, incident=st["incident"], output=result.output[:500],
                    unit=unit)
        action = f"will restart {unit}" if unit else "no unit to restart: needs a person"
        self.alerter.alert(Alert("failing", result.key, "failing", result.output, unit, action,
                                 since=st["since"]))
        return [f"failing {result.key}"]

    def _act(self, result: CheckResult, st: dict[str, Any], unit: str, now: float) -> list[str]:
        mc = self.config.monitor
        if not unit:
            self.alerter.alert(Alert("failing", result.key, "failing", result.output, since=st["since"]))
            return []
        if st["restarted_at"] is not None:
            return self._escalate(result, st, unit, "a restart did not cure it")
        ust = self.unit_state(unit)
        last = max(ust["restarts"], default=None)
        if last is not None and now - last < mc.cooldown_seconds:
            log.warning("%s failing; %s restarted %.0fs ago, cooldown %ds", result.key, unit, now - last,
                        mc.cooldown_seconds)
            return [f"cooldown {unit}"]
        recent = [t for t in ust["restarts"] if now - t < mc.start_limit_interval_seconds]
        # Leave systemd one start of its own (Restart=on-failure) inside its start limit.
        if len(recent) >= mc.start_limit_burst - 1:
            return self._escalate(result, st, unit,
                                  f"{len(recent)} restarts in {mc.start_limit_interval_seconds // 60} minutes "
                                  "already; another would hit systemd's start limit")
        if self.stopped_on_purpose(unit):
            log.warning("%s failing, but %s was stopped on purpose: not restarting it", result.key, unit)
            return [f"left {unit} stopped"]
        outcome = self.restarter.restart(unit)
        ust["restarts"] = [*recent, now]
        self._event("restart", result.key, unit=unit, ok=outcome.ok, output=outcome.summary,
                    incident=st["incident"])
        if not outcome.ok:
            return self._escalate(result, st, unit, f"systemctl restart failed: {outcome.summary}")
        # Every check that blames this unit gets a fresh start: the restart was for all of them.
        for other in self.state["checks"].values():
            if other.get("unit") == unit and other["state"] == "failing":
                other.update(restarted_at=now, strikes=0)
        return [f"restarted {unit}"]

    def _escalate(self, result: CheckResult, st: dict[str, Any], unit: str, why: str) -> list[str]:
        st["state"] = "escalated"
        self._event("escalation", result.key, unit=unit, reason=why, incident=st["incident"])
        log.error("escalating %s (%s): %s", result.key, unit, why)
        self.alerter.alert(Alert("escalated", result.key, "escalated", result.output, unit,
                                 f"not restarting again: {why}", since=st["since"]))
        return [f"escalated {result.key}"]

    # -- summaries ----------------------------------------------------------------------------
    def open_incidents(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.state["checks"].items() if v["state"] != "ok"}
