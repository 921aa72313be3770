"""The incident policy: failing checks grouped into one incident per root cause, three strikes,
one restart per cooldown of the unit at fault within systemd's start limit, escalation when a
restart does not cure, and one mail on open, reminders while open, one mail on resolve.

State lives in the store (`policy`): `checks` (per result: strikes, state, blamed cause; read by
`studybuddy status`, the console and the metrics), `causes` (strikes per cause), `incidents`
(open ones, per cause) and `units` (times of restarts that happened).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..checks import CheckResult
from ..config import Config
from ..store import Store
from ..store.models import MonitorEvent, new_id
from .alerts import Alert, Alerter
from .blame import Blame, Cause
from .restarter import Restarter, under_systemd

log = logging.getLogger(__name__)

STATE_KEY = "policy"
DELIVERED = ("sent", "queued", "disabled")


class Policy:
    def __init__(self, store: Store, config: Config, restarter: Restarter, alerter: Alerter,
                 clock: Callable[[], float] = time.time,
                 stopped_on_purpose: Callable[[str], bool] | None = None,
                 systemd: Callable[[], bool] = under_systemd):
        self.store = store
        # Tells whether an administrator stopped the unit (inactive, not failed): left alone.
        self.stopped_on_purpose = stopped_on_purpose or (lambda unit: False)
        # Whether systemctl can do anything here: without systemd no restart is tried.
        self.systemd = systemd
        self.config = config
        self.restarter = restarter
        self.alerter = alerter
        self.clock = clock
        self._said_no_systemd = False
        self.state = self._load()

    # -- persisted state ----------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        state = self.store.monitor.get_state(STATE_KEY) or {}
        state.setdefault("checks", {})
        state.setdefault("units", {})
        state.setdefault("causes", {})
        state.setdefault("incidents", {})
        return state

    def save(self) -> None:
        self.store.monitor.set_state(STATE_KEY, self.state)

    def _event(self, kind: str, check: str, **data: Any) -> None:
        self.store.monitor.add_event(MonitorEvent(new_id(), kind, check, data, self.clock()))

    def check_state(self, key: str) -> dict[str, Any]:
        return dict(self.state["checks"].get(key) or {})

    def incident(self, cause: str) -> dict[str, Any]:
        """The open incident of a cause ({} when there is none)."""
        return dict(self.state["incidents"].get(cause) or {})

    def unit_state(self, unit: str) -> dict[str, Any]:
        st = self.state["units"].setdefault(unit, {})
        st.setdefault("restarts", [])
        return st

    # -- one round ----------------------------------------------------------------------------
    def observe(self, results: list[CheckResult], blame: Callable[[CheckResult], Blame]) -> list[str]:
        """Apply one round of results; returns what was done (for logs and tests)."""
        actions: list[str] = []
        now = self.clock()
        strikes_needed = self.config.monitor.strikes
        failing: dict[str, list[CheckResult]] = {}  # blamed cause -> its failing results
        own_failing: set[str] = set()               # causes whose own checks fail, blamed or not
        causes: dict[str, Cause] = {}
        blamed_for: dict[str, str] = {}
        for result in results:
            b = blame(result)
            blamed_for[result.key] = b.blamed.key
            st = self.state["checks"].setdefault(result.key, {"strikes": 0, "state": "ok"})
            st.update(last_status=result.status, last_output=result.output[:500], last_at=now,
                      unit=b.own.unit, cause=b.blamed.key)
            if result.status == "fail":
                st["strikes"] += 1
                failing.setdefault(b.blamed.key, []).append(result)
                causes.setdefault(b.blamed.key, b.blamed)
                own_failing.add(b.own.key)
                causes.setdefault(b.own.key, b.own)
            else:
                st["strikes"] = 0
        down = [key for key in failing if causes[key].dependency]

        for key in list(self.state["causes"]):
            if key not in failing:
                del self.state["causes"][key]  # a round without a failure: the strikes start over
        for key in failing:
            cst = self.state["causes"].setdefault(key, {"strikes": 0, "first_fail": now})
            cst["strikes"] += 1
        # Dependencies first: their incident opens before (and explains) anything else.
        order = sorted(failing, key=lambda k: (not causes[k].dependency, k))
        for key in order:
            if key not in self.state["incidents"] and self.state["causes"][key]["strikes"] >= strikes_needed:
                actions.append(self._open(causes[key], failing[key], now))

        for key in list(self.state["incidents"]):
            inc = self.state["incidents"][key]
            if key not in failing and key not in own_failing:
                actions.append(self._resolve(inc, now))
                continue
            own = failing.get(key, [])
            # Checks of its own that now fail because a dependency is down stay with it, quietly.
            inhibited_by = "" if own else next((d for d in down if d != key), "")
            if own:
                inc["checks"] = {r.key: r.output[:300] for r in own}
                inc["output"] = own[0].output[:500]
                inc["all_checks"] = sorted(set(inc["all_checks"]) | set(inc["checks"]))
            inc["inhibited_by"] = inhibited_by
            actions.extend(self._act(inc, down, now))
            self._mail(inc, now)

        for key, st in self.state["checks"].items():
            cause = blamed_for.get(key, st.get("cause", ""))
            inc = self.state["incidents"].get(cause)
            if inc and st.get("last_status") == "fail":
                st.update(state=inc["state"], incident=inc["id"], since=inc["since"], output=st["last_output"])
            else:
                st.update(state="ok", incident="", since=None, output="")
        self.save()
        return actions

    # -- incidents ----------------------------------------------------------------------------
    @staticmethod
    def _title(inc: dict[str, Any]) -> str:
        """The check that opened it, and how many more it grouped."""
        more = len(inc["all_checks"]) - 1
        return f"{inc['root']} (+{more} more)" if more > 0 else str(inc["root"])

    def _open(self, cause: Cause, failing: list[CheckResult], now: float) -> str:
        first_fail = self.state["causes"][cause.key]["first_fail"]
        inc = {
            "id": new_id(), "cause": cause.key, "label": cause.label, "unit": cause.unit,
            "state": "failing", "since": first_fail, "opened_at": now, "root": failing[0].key,
            "checks": {r.key: r.output[:300] for r in failing}, "output": failing[0].output[:500],
            "all_checks": sorted({r.key for r in failing}), "restarted_at": None, "rounds_since_restart": 0,
            "action": "", "owed": "failing", "last_mail_at": None, "inhibited_by": "", "note": "",
        }
        self.state["incidents"][cause.key] = inc
        self._event("incident_open", inc["root"], incident=inc["id"], cause=cause.key,
                    checks=inc["all_checks"], output=inc["output"], unit=cause.unit)
        log.warning("incident opened: %s (%s)", cause.key, ", ".join(inc["all_checks"]))
        return f"opened {cause.key}"

    def _resolve(self, inc: dict[str, Any], now: float) -> str:
        del self.state["incidents"][inc["cause"]]
        self._event("incident_close", inc["root"], incident=inc["id"], cause=inc["cause"],
                    duration=now - inc["since"], state=inc["state"])
        alert = self._alert(inc, "recovered", now)
        outcome = self.alerter.notify(alert)
        log.warning("incident resolved: %s after %.0fs (mail %s)", inc["cause"], now - inc["since"], outcome)
        return f"resolved {inc['cause']}"

    def _alert(self, inc: dict[str, Any], kind: str, now: float) -> Alert:
        if kind == "recovered":
            state, action, until = "recovered", inc["action"], now
        else:
            state, action, until = inc["state"], inc["action"], 0.0
        checks = tuple(sorted(inc["checks"].items())) if kind != "recovered" else tuple(
            (key, "") for key in inc["all_checks"])
        return Alert(kind, self._title(inc), state, inc["output"], inc["unit"], action, since=inc["since"],
                     cause=inc["label"], checks=checks, until=until)

    def _mail(self, inc: dict[str, Any], now: float) -> None:
        """The owed open (or escalation) mail; else a reminder every mail.repeat_minutes."""
        if inc["owed"]:
            outcome = self.alerter.notify(self._alert(inc, inc["owed"], now))
            if outcome in DELIVERED:
                inc.update(owed="", last_mail_at=now)
            return  # else over the hourly cap: still owed, tried again next round
        if inc["inhibited_by"]:
            return  # a dependency's incident speaks for it
        if now - (inc["last_mail_at"] or now) >= self.config.mail.repeat_minutes * 60:
            self.alerter.notify(self._alert(inc, inc["state"], now), reminder=True)
            # A reminder held back by the cap is not owed: the next one comes an interval later.
            inc["last_mail_at"] = now

    def _escalate(self, inc: dict[str, Any], why: str) -> str:
        inc["state"] = "escalated"
        inc["action"] = f"not restarting again: {why}"
        inc["owed"] = "escalated"
        self._event("escalation", inc["root"], unit=inc["unit"], reason=why, incident=inc["id"],
                    cause=inc["cause"])
        log.error("escalating %s (%s): %s", inc["cause"], inc["unit"], why)
        return f"escalated {inc['cause']}"

    def _note(self, inc: dict[str, Any], note: str, action: str) -> list[str]:
        """An action said once per incident (not every round it still holds)."""
        inc["action"] = action
        if inc["note"] == note:
            return []
        inc["note"] = note
        return [note]

    # -- restarts -----------------------------------------------------------------------------
    def _act(self, inc: dict[str, Any], down: list[str], now: float) -> list[str]:
        mc = self.config.monitor
        unit = inc["unit"]
        if inc["state"] == "escalated":
            return []
        if not unit:
            inc["action"] = "no unit of ours to restart: a person is needed"
            return []
        blocking = [d for d in down if d != inc["cause"]]
        if blocking:
            return self._note(inc, f"held {unit}: {blocking[0]} is down",
                              f"not restarting {unit}: {blocking[0]} is down and {unit} depends on it")
        if inc["restarted_at"] is not None:
            inc["rounds_since_restart"] += 1
            if inc["rounds_since_restart"] >= mc.strikes:
                return [self._escalate(inc, f"a restart of {unit} did not cure it")]
            return []
        if not self.systemd():
            if not self._said_no_systemd:
                log.warning("not running under systemd: units are not restarted; %s needs a person", unit)
                self._said_no_systemd = True
            return self._note(inc, f"not restarting {unit}: not under systemd",
                              f"not restarted: the monitor is not running under systemd; {unit} needs a person")
        ust = self.unit_state(unit)
        last = max(ust["restarts"], default=None)
        if last is not None and now - last < mc.cooldown_seconds:
            log.warning("%s failing; %s restarted %.0fs ago, cooldown %ds", inc["cause"], unit, now - last,
                        mc.cooldown_seconds)
            inc["action"] = f"waiting: {unit} was restarted {now - last:.0f}s ago (cooldown {mc.cooldown_seconds}s)"
            return [f"cooldown {unit}"]
        recent = [t for t in ust["restarts"] if now - t < mc.start_limit_interval_seconds]
        # Leave systemd one start of its own (Restart=on-failure) inside its start limit.
        if len(recent) >= mc.start_limit_burst - 1:
            return [self._escalate(inc, f"{len(recent)} restarts of {unit} in "
                                        f"{mc.start_limit_interval_seconds // 60} minutes already; another "
                                        "would hit systemd's start limit")]
        if self.stopped_on_purpose(unit):
            log.warning("%s failing, but %s was stopped on purpose: not restarting it", inc["cause"], unit)
            return self._note(inc, f"left {unit} stopped", f"not restarted: {unit} was stopped on purpose")
        outcome = self.restarter.restart(unit)
        if not outcome.ok:
            # Not a restart: no cooldown starts, the start-limit budget is untouched, and the mail
            # says that systemctl failed rather than that a restart happened.
            self._event("restart_failed", inc["root"], unit=unit, output=outcome.summary, incident=inc["id"])
            return [self._escalate(inc, f"systemctl could not restart {unit}: {outcome.summary}")]
        ust["restarts"] = [*recent, now]
        self._event("restart", inc["root"], unit=unit, ok=True, output=outcome.summary, incident=inc["id"])
        inc.update(restarted_at=now, rounds_since_restart=0, note="", action=f"restarted {unit}")
        # Another open incident blaming the same unit was restarted with it.
        for other in self.state["incidents"].values():
            if other is not inc and other["unit"] == unit and other["state"] == "failing":
                other.update(restarted_at=now, rounds_since_restart=0)
        return [f"restarted {unit}"]
