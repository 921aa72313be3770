"""Alert mail. Incident mails (open, reminder, resolve) are timed by the policy and sent with
`notify`; other alerts (systemd gave up) with `alert`, de-duplicated per check and state and
repeated at most every `mail.repeat_minutes`. At most `mail.max_per_hour` mails go out per hour
(the held-back count is folded into the next mail), except that a resolve is never held back.
Mails SMTP did not take are retried. Everything is persisted in the store, so a monitor restart
neither repeats nor forgets."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ..config import Config
from ..store import Store
from ..store.models import MonitorEvent, new_id
from .mailer import Mail, Mailer, MailError, render

log = logging.getLogger(__name__)

STATE_KEY = "alerts"
KINDS = ("failing", "escalated", "recovered", "gave_up")
OUTBOX_LIMIT = 100
OUTBOX_MAX_AGE = 24 * 3600
SMTP_BACKOFF_SECONDS = 60.0

_HEADLINES = {
    "failing": "A StudyBuddy check is failing.",
    "escalated": "CRITICAL: a StudyBuddy problem was not cured by a restart; the monitor stopped restarting.",
    "recovered": "A StudyBuddy problem is over: every check it failed passes again.",
    "gave_up": "CRITICAL: systemd gave up on a StudyBuddy service.",
}


@dataclass(frozen=True)
class Alert:
    kind: str
    check: str
    state: str
    output: str = ""
    unit: str = ""
    action: str = ""
    since: float = 0.0
    cause: str = ""  # the incident's root cause, in words
    checks: tuple[tuple[str, str], ...] = ()  # (check, output) of every failing check it groups
    until: float = 0.0  # when a resolved incident ended


class Alerter:
    def __init__(self, store: Store, config: Config, mailer: Mailer,
                 clock: Callable[[], float] = time.time, host: str | None = None):
        self.store = store
        self.config = config
        self.mailer = mailer
        self.clock = clock
        self.host = host or socket.getfqdn()
        self.zone = ZoneInfo(config.app.timezone)
        # After an SMTP failure, further mails of the same round go straight to the outbox rather
        # than each waiting out a timeout (which would starve the monitor's watchdog).
        self._smtp_failed_at = float("-inf")

    # -- state ------------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        state = self.store.monitor.get_state(STATE_KEY) or {}
        state.setdefault("last", {})        # check -> {"state", "at"}
        state.setdefault("sent_at", [])     # times of mails counted against the hourly cap
        state.setdefault("suppressed", 0)
        state.setdefault("outbox", [])      # mails SMTP did not take yet
        return state

    def _save(self, state: dict[str, Any]) -> None:
        self.store.monitor.set_state(STATE_KEY, state)

    def _event(self, event_kind: str, check: str, **data: Any) -> None:
        self.store.monitor.add_event(MonitorEvent(new_id(), event_kind, check, data, self.clock()))

    def _fmt(self, t: float) -> str:
        return dt.datetime.fromtimestamp(t, self.zone).strftime("%Y-%m-%d %H:%M:%S %Z") if t else ""

    # -- alerts -----------------------------------------------------------------------------
    def alert(self, alert: Alert) -> str:
        """Mail about a state change, de-duplicated per check and state.

        Returns sent, queued (SMTP failed), duplicate, suppressed (hourly cap) or disabled."""
        if alert.kind not in KINDS:
            raise ValueError(f"unknown alert kind {alert.kind!r}")
        now = self.clock()
        state = self._load()
        last = state["last"].get(alert.check)
        if last and last["state"] == alert.state and now - last["at"] < self.config.mail.repeat_minutes * 60:
            return "duplicate"
        repeat = bool(last and last["state"] == alert.state)
        outcome = self._send(state, alert, repeat=repeat, capped=True)
        if outcome != "suppressed":
            # A suppressed alert is not recorded as "last": once the cap lifts, it is still owed.
            state["last"][alert.check] = {"state": alert.state, "at": now}
        self._save(state)
        return outcome

    def notify(self, alert: Alert, *, reminder: bool = False) -> str:
        """An incident mail, sent when the policy says so (no de-duplication here).

        Counts against the hourly cap; a resolve ("recovered") is sent even over the cap. An open
        or escalation mail held back by the cap stays owed (the policy sends it later); a reminder
        held back is dropped, and counted in the next mail."""
        if alert.kind not in KINDS:
            raise ValueError(f"unknown alert kind {alert.kind!r}")
        state = self._load()
        outcome = self._send(state, alert, repeat=reminder, capped=alert.kind != "recovered",
                             count_held=reminder)
        self._save(state)
        return outcome

    def _send(self, state: dict[str, Any], alert: Alert, *, repeat: bool, capped: bool,
              count_held: bool = True) -> str:
        now = self.clock()
        state["sent_at"] = [t for t in state["sent_at"] if now - t < 3600]
        if capped and len(state["sent_at"]) >= self.config.mail.max_per_hour:
            if count_held:
                state["suppressed"] += 1
            self._event("mail_suppressed", alert.check, alert_kind=alert.kind, state=alert.state)
            log.warning("alert for %s (%s) not mailed: hourly cap reached", alert.check, alert.state)
            return "suppressed"
        suppressed, state["suppressed"] = state["suppressed"], 0
        mail = self.render_alerts([alert], suppressed=suppressed, repeat=repeat)
        # Every mail counts against the cap, resolves included; they are merely never held back.
        state["sent_at"].append(now)
        return self._deliver(state, mail, alert.kind, alert.check)

    def render_alerts(self, alerts: list[Alert], suppressed: int = 0, repeat: bool = False) -> Mail:
        first = alerts[0]
        label = {"failing": "FAILING", "escalated": "CRITICAL, ESCALATED", "recovered": "RECOVERED",
                 "gave_up": "CRITICAL, SYSTEMD GAVE UP"}[first.kind]
        subject = f"[StudyBuddy {label}] {first.check}" + (" (still)" if repeat else "")
        if first.unit:
            subject += f" ({first.unit})"
        return render(
            "alert", subject,
            headline=_HEADLINES[first.kind] + (" It is still going on." if repeat else ""),
            host=self.host, when=self._fmt(self.clock()), cap=self.config.mail.max_per_hour,
            suppressed=suppressed,
            alerts=[{"kind": a.kind, "check": a.check, "state": a.state, "output": a.output,
                     "unit": a.unit, "action": a.action, "since": self._fmt(a.since), "cause": a.cause,
                     "checks": [{"check": c, "output": o} for c, o in a.checks],
                     "until": self._fmt(a.until), "duration": _duration(a.until - a.since) if a.until else ""}
                    for a in alerts],
        )

    def send_mail(self, mail: Mail, kind: str, check: str = "") -> str:
        """Send a mail outside the alert rules (the daily report); retried like alerts."""
        state = self._load()
        outcome = self._deliver(state, mail, kind, check)
        self._save(state)
        return outcome

    def _deliver(self, state: dict[str, Any], mail: Mail, kind: str, check: str) -> str:
        if not self.mailer.enabled:
            self._event("mail_skipped", check, kind=kind, subject=mail.subject)
            log.info("mail is disabled; not sent: %s", mail.subject)
            return "disabled"
        try:
            if time.monotonic() - self._smtp_failed_at < SMTP_BACKOFF_SECONDS:
                raise MailError("the SMTP server failed moments ago; not trying again yet")
            try:
                self.mailer.send(mail)
            except MailError:
                self._smtp_failed_at = time.monotonic()
                raise
        except MailError as exc:
            log.error("could not send mail %r (kept for retry): %s", mail.subject, exc)
            state["outbox"].append({"mail": mail.to_dict(), "kind": kind, "check": check,
                                    "at": self.clock(), "tries": 1, "error": str(exc)[:300]})
            state["outbox"] = state["outbox"][-OUTBOX_LIMIT:]
            self._event("mail_failed", check, kind=kind, subject=mail.subject, error=str(exc)[:300])
            return "queued"
        self._event("mail", check, kind=kind, subject=mail.subject)
        return "sent"

    def flush(self) -> int:
        """Retry mails SMTP did not take; returns how many were sent now."""
        state = self._load()
        if not state["outbox"] or not self.mailer.enabled:
            return 0
        now = self.clock()
        keep: list[dict[str, Any]] = []
        sent = 0
        failed = False
        for entry in state["outbox"]:
            if failed:
                keep.append(entry)
                continue
            if now - entry["at"] > OUTBOX_MAX_AGE:
                log.error("giving up on mail %r after a day of SMTP failures", entry["mail"]["subject"])
                continue
            try:
                self.mailer.send(Mail.from_dict(entry["mail"]))
            except MailError as exc:
                entry["tries"] += 1
                entry["error"] = str(exc)[:300]
                keep.append(entry)
                failed = True  # the server is still unwell: do not wait out a timeout per mail
                continue
            sent += 1
            self._event("mail", entry.get("check", ""), kind=entry.get("kind", ""),
                        subject=entry["mail"]["subject"], retried=True)
        state["outbox"] = keep
        self._save(state)
        return sent


def _duration(seconds: float) -> str:
    minutes = max(int(round(seconds / 60)), 0)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
