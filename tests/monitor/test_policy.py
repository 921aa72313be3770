"""The incident policy with an injected clock, a real (recording) systemctl and a real SMTP server:
grouping by root cause, strikes, restarts of the unit at fault only, cooldown, start limit,
escalation and recovery."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from studybuddy.config import QUEUE_NAMES, Config
from studybuddy.health import CheckResult
from studybuddy.monitor.alerts import Alerter
from studybuddy.monitor.blame import assign
from studybuddy.monitor.mailer import Mailer
from studybuddy.monitor.policy import Policy
from studybuddy.monitor.restarter import Restarter
from studybuddy.services import Services

from .helpers import Clock, FakeSystemctl, SMTPServer, TLSCertificates, decode_parts

WORKER = "studybuddy-worker.service"
WEB = "studybuddy-web.service"
CANARY = "canary:latency/summarize"
BROKER = "broker:connection"
STORE = "store:responseTime"
READY = "web:responseTime"
UPLOAD = "upload:roundTrip"
CANARIES = [f"canary:latency/{q}" for q in QUEUE_NAMES]
CHECK_OF = {"canary": "canary", "upload": "upload", "web": "web", "store": "store", "broker": "broker",
            "unit": "units", "disk": "disk", "ai": "ai"}


def result(key: str, status: str) -> CheckResult:
    name, _, component = key.partition("/")
    return CheckResult(name, status, output=f"{key} {status}", component_id=component)


class Rig:
    def __init__(self, cfg: Config, services: Services, systemctl: FakeSystemctl, smtp: SMTPServer):
        self.cfg = cfg
        self.services = services
        self.systemctl = systemctl
        self.smtp = smtp
        self.clock = Clock()
        self.systemd = True
        self.policy = self.new_policy()

    def new_policy(self, stopped_on_purpose: Callable[[str], bool] | None = None) -> Policy:
        """A policy as a freshly started monitor builds it, over the same store."""
        mc = self.cfg.monitor
        restarter = Restarter(mc.units, str(self.systemctl.path), 5.0)
        alerter = Alerter(self.services.store, self.cfg, Mailer(self.cfg.mail, "host.test"), self.clock,
                          host="host.test")
        return Policy(self.services.store, self.cfg, restarter, alerter, self.clock,
                      stopped_on_purpose=stopped_on_purpose, systemd=lambda: self.systemd)

    def round(self, failing: Sequence[str], passing: Sequence[str] = ()) -> list[str]:
        """One round in which the checks `failing` fail and `passing` pass."""
        results = [result(k, "fail") for k in failing] + [result(k, "pass") for k in passing]
        blames = assign([(CHECK_OF[r.name.split(":")[0]], r) for r in results], self.cfg.monitor.units)
        return self.policy.observe(results, lambda r: blames[r.key])

    def check(self, key: str, status: str) -> list[str]:
        return self.round([key]) if status == "fail" else self.round([], [key])

    def restarts(self) -> list[str]:
        return [c for c in self.systemctl.calls() if " restart " in f" {c} "]

    def subjects(self) -> list[str]:
        return self.smtp.inbox.subjects()

    def mails(self, count: int) -> list[str]:
        """The subjects once `count` mails arrived; fails if more than `count` came."""
        self.smtp.inbox.wait_for(count)
        assert len(self.subjects()) == count, self.subjects()
        return self.subjects()


@pytest.fixture
def rig(cfg: Config, services: Services, tmp_path: Path) -> Iterator[Rig]:
    certs = TLSCertificates(tmp_path)
    smtp = SMTPServer("starttls", certs).start()
    cfg = cfg.replace(
        monitor={"strikes": 3, "cooldown_seconds": 600, "interval_seconds": 300,
                 "start_limit_interval_seconds": 1800, "start_limit_burst": 5},
        mail={"enabled": True, "host": "localhost", "port": smtp.port, "security": "starttls",
              "ca_file": str(certs.ca_file), "admin_to": ["admin@studybuddy.test"], "timeout_seconds": 5.0,
              "repeat_minutes": 60, "max_per_hour": 50},
    )
    yield Rig(cfg, services, FakeSystemctl(tmp_path / "bin"), smtp)
    smtp.stop()


def test_three_strikes_make_one_restart(rig: Rig) -> None:
    assert rig.check(CANARY, "fail") == []
    rig.clock.advance(300)
    assert rig.check(CANARY, "fail") == []
    assert rig.restarts() == []
    rig.clock.advance(300)
    assert rig.check(CANARY, "fail") == ["opened worker", f"restarted {WORKER}"]
    assert rig.restarts() == [f"--no-ask-password --no-block restart {WORKER}"]
    assert rig.mails(1) == [f"[StudyBuddy FAILING] {CANARY} ({WORKER})"]
    text, _ = decode_parts(rig.smtp.inbox.messages[0])
    assert f"Action: restarted {WORKER}" in text and "Cause:  the worker" in text
    events = rig.services.store.monitor.events(kind="restart")
    assert len(events) == 1 and events[0].data["unit"] == WORKER and events[0].data["ok"] is True


def test_a_pass_resets_the_strikes(rig: Rig) -> None:
    for status in ("fail", "fail", "pass", "fail", "fail"):
        rig.check(CANARY, status)
        rig.clock.advance(300)
    assert rig.restarts() == []
    assert rig.policy.check_state(CANARY)["strikes"] == 2
    assert rig.policy.incident("worker") == {}


def test_the_checks_of_one_cause_are_one_incident(rig: Rig) -> None:
    """Every canary and the upload failing: one worker incident, one restart, one mail."""
    for _ in range(3):
        actions = rig.round(CANARIES + [UPLOAD])
        rig.clock.advance(300)
    assert actions == ["opened worker", f"restarted {WORKER}"]
    assert len(rig.restarts()) == 1
    subject = rig.mails(1)[0]
    assert subject == f"[StudyBuddy FAILING] {CANARIES[0]} (+6 more) ({WORKER})"
    text, html = decode_parts(rig.smtp.inbox.messages[0])
    for key in CANARIES + [UPLOAD]:
        assert key in text and key in html
    assert rig.policy.check_state(UPLOAD)["incident"] == rig.policy.incident("worker")["id"]


def test_cooldown_blocks_a_second_restart_of_the_same_unit(rig: Rig) -> None:
    for _ in range(3):
        rig.check(CANARY, "fail")
        rig.clock.advance(60)
    assert len(rig.restarts()) == 1
    assert rig.check(CANARY, "pass") == ["resolved worker"]
    # The worker fails again within the cooldown: a new incident, but no second restart yet.
    actions = []
    for _ in range(3):
        actions += rig.check(UPLOAD, "fail")
        rig.clock.advance(60)
    assert actions == ["opened worker", f"cooldown {WORKER}"]
    assert len(rig.restarts()) == 1
    # After the cooldown the incident gets its restart.
    rig.clock.advance(600)
    assert rig.check(UPLOAD, "fail") == [f"restarted {WORKER}"]
    assert len(rig.restarts()) == 2


def test_no_cure_escalates_and_never_loops(rig: Rig) -> None:
    actions: list[str] = []
    for _ in range(30):  # two and a half hours of failing rounds
        actions += rig.check(CANARY, "fail")
        rig.clock.advance(300)
    assert actions.count(f"restarted {WORKER}") == 1
    assert actions.count("escalated worker") == 1
    assert len(rig.restarts()) == 1
    assert rig.policy.incident("worker")["state"] == "escalated"
    assert rig.policy.check_state(CANARY)["state"] == "escalated"
    subjects = rig.mails(4)
    assert subjects[0] == f"[StudyBuddy FAILING] {CANARY} ({WORKER})"
    assert subjects[1] == f"[StudyBuddy CRITICAL, ESCALATED] {CANARY} ({WORKER})"
    # While it lasts, the critical mail is repeated every hour (2.5 h: the first and two reminders).
    assert subjects[2:] == [f"[StudyBuddy CRITICAL, ESCALATED] {CANARY} (still) ({WORKER})"] * 2
    escalation = rig.services.store.monitor.events(kind="escalation")
    assert len(escalation) == 1 and "did not cure" in escalation[0].data["reason"]


def test_recovery_is_announced_once(rig: Rig) -> None:
    for _ in range(3):
        rig.check(CANARY, "fail")
        rig.clock.advance(300)
    assert rig.check(CANARY, "pass") == ["resolved worker"]
    rig.clock.advance(300)
    assert rig.check(CANARY, "pass") == []
    assert rig.mails(2)[1] == f"[StudyBuddy RECOVERED] {CANARY} ({WORKER})"
    text, _ = decode_parts(rig.smtp.inbox.messages[1])
    assert "(15 min)" in text
    closes = rig.services.store.monitor.events(kind="incident_close")
    assert len(closes) == 1 and closes[0].data["duration"] == 900


def test_a_failed_restart_is_not_counted_as_a_restart(rig: Rig) -> None:
    rig.systemctl.fail_with(1, "Failed to restart studybuddy-worker.service: Interactive authentication required.")
    for _ in range(3):
        actions = rig.check(CANARY, "fail")
        rig.clock.advance(300)
    assert actions == ["opened worker", "escalated worker"]
    assert rig.policy.unit_state(WORKER)["restarts"] == []
    assert rig.services.store.monitor.events(kind="restart") == []
    assert len(rig.services.store.monitor.events(kind="restart_failed")) == 1
    # One mail for the opening round: it says the restart failed, and never that it happened.
    assert rig.mails(1) == [f"[StudyBuddy CRITICAL, ESCALATED] {CANARY} ({WORKER})"]
    text, _ = decode_parts(rig.smtp.inbox.messages[0])
    assert "Interactive authentication required" in text
    assert f"systemctl could not restart {WORKER}" in text and "Action: restarted" not in text
    # Later rounds do not claim a cooldown: nothing was restarted.
    assert f"cooldown {WORKER}" not in rig.check(CANARY, "fail")
    rig.check(CANARY, "pass")
    # Once systemctl works, the next incident restarts at once (no cooldown from the failure).
    rig.systemctl.succeed()
    for _ in range(3):
        rig.clock.advance(60)
        actions = rig.check(CANARY, "fail")
    assert actions == ["opened worker", f"restarted {WORKER}"]


def test_the_start_limit_is_respected(rig: Rig) -> None:
    """Short incidents may each restart after the cooldown, but never into systemd's start limit."""
    rig.cfg = rig.cfg.replace(monitor={"cooldown_seconds": 60})
    rig.policy = rig.new_policy()
    outcomes = []
    for _ in range(6):
        for _ in range(3):
            actions = rig.check(CANARY, "fail")
            rig.clock.advance(20)
        outcomes.append(actions[-1])
        rig.check(CANARY, "pass")
        rig.clock.advance(20)
    # burst 5 in 30 minutes: the monitor takes at most 4, leaving systemd a start of its own.
    assert outcomes == [f"restarted {WORKER}"] * 4 + ["escalated worker"] * 2
    assert len(rig.restarts()) == 4
    escalations = rig.services.store.monitor.events(kind="escalation")
    assert len(escalations) == 2 and all("start limit" in e.data["reason"] for e in escalations)
    # Half an hour later the budget is back.
    rig.clock.advance(1800)
    for _ in range(3):
        actions = rig.check(CANARY, "fail")
    assert actions == ["opened worker", f"restarted {WORKER}"]


def test_a_check_without_a_unit_only_mails(rig: Rig) -> None:
    for _ in range(5):
        rig.check("disk:free", "fail")
        rig.clock.advance(300)
    assert rig.systemctl.calls() == []
    assert rig.mails(1) == ["[StudyBuddy FAILING] disk:free"]
    text, _ = decode_parts(rig.smtp.inbox.messages[0])
    assert "a person is needed" in text


def test_state_survives_a_monitor_restart(rig: Rig) -> None:
    rig.check(CANARY, "fail")
    rig.clock.advance(300)
    rig.check(CANARY, "fail")
    rig.policy = rig.new_policy()  # the monitor restarted
    rig.clock.advance(300)
    assert rig.check(CANARY, "fail") == ["opened worker", f"restarted {WORKER}"]
    rig.policy = rig.new_policy()
    for _ in range(3):
        rig.clock.advance(300)
        actions = rig.check(CANARY, "fail")
    assert actions == ["escalated worker"]
    assert len(rig.restarts()) == 1
    rig.policy = rig.new_policy()
    assert rig.policy.incident("worker")["state"] == "escalated"
    rig.clock.advance(300)
    assert rig.check(CANARY, "pass") == ["resolved worker"]
    assert [s.split("]")[0] for s in rig.mails(3)] == [
        "[StudyBuddy FAILING", "[StudyBuddy CRITICAL, ESCALATED", "[StudyBuddy RECOVERED"]


def test_a_unit_stopped_on_purpose_is_left_alone(rig: Rig) -> None:
    from studybuddy.monitor.restarter import stopped_on_purpose

    restarter = Restarter(rig.cfg.monitor.units, str(rig.systemctl.path), 5.0)
    rig.policy = rig.new_policy(stopped_on_purpose=lambda unit: stopped_on_purpose(restarter.show(unit)))
    rig.systemctl.show_output("ActiveState=inactive\nSubState=dead\nResult=success\n")
    for _ in range(3):
        actions = rig.check(CANARY, "fail")
        rig.clock.advance(300)
    assert actions == ["opened worker", f"left {WORKER} stopped"]
    assert rig.restarts() == []
    # A crashed unit is another matter.
    rig.systemctl.show_output("ActiveState=failed\nSubState=failed\nResult=exit-code\n")
    assert rig.check(CANARY, "fail") == [f"restarted {WORKER}"]


# -- blame: the unit at fault, never a victim ------------------------------------------------

@pytest.mark.parametrize("dependency,key", [("broker", BROKER), ("store", STORE)])
def test_a_dependency_down_is_one_incident_and_restarts_nothing(rig: Rig, dependency: str, key: str) -> None:
    """The broker (or store) down fails the web's readiness, the canaries and the upload too:
    one incident, its cause the dependency, and neither the web nor the worker is restarted."""
    victims = [READY, UPLOAD, *CANARIES]
    for _ in range(6):
        actions = rig.round([key, *victims])
        rig.clock.advance(300)
    assert rig.systemctl.calls() == []
    assert list(rig.policy.state["incidents"]) == [dependency]
    assert rig.policy.check_state(READY)["cause"] == dependency
    assert rig.mails(1) == [f"[StudyBuddy FAILING] {key} (+8 more)"]
    text, _ = decode_parts(rig.smtp.inbox.messages[0])
    assert READY in text and CANARY in text and "a person is needed" in text
    # It comes back: one resolve, for the one incident.
    assert rig.round([], [key, *victims]) == [f"resolved {dependency}"]
    assert rig.mails(2)[1] == f"[StudyBuddy RECOVERED] {key} (+8 more)"
    assert actions == []


def test_the_workers_own_failure_restarts_the_worker_only(rig: Rig) -> None:
    """The broker answers but the canaries fail: the worker is at fault, the web is left alone."""
    for _ in range(3):
        actions = rig.round(CANARIES, [BROKER, STORE, READY])
        rig.clock.advance(300)
    assert actions == ["opened worker", f"restarted {WORKER}"]
    assert rig.restarts() == [f"--no-ask-password --no-block restart {WORKER}"]


def test_the_webs_own_failure_restarts_the_web_only(rig: Rig) -> None:
    for _ in range(3):
        actions = rig.round([READY], [BROKER, STORE, *CANARIES])
        rig.clock.advance(300)
    assert actions == ["opened web", f"restarted {WEB}"]
    assert rig.restarts() == [f"--no-ask-password --no-block restart {WEB}"]


def test_an_open_worker_incident_is_held_while_the_broker_is_down(rig: Rig) -> None:
    for _ in range(3):
        rig.round([CANARY], [BROKER])
        rig.clock.advance(300)
    assert len(rig.restarts()) == 1
    # The restart has not cured it yet when the broker goes away too.
    actions: list[str] = []
    for _ in range(20):  # 100 minutes: no escalation, no restart, no worker reminder while held
        actions += rig.round([BROKER, CANARY])
        rig.clock.advance(300)
    assert actions.count("opened broker") == 1 and f"held {WORKER}: broker is down" in actions
    assert not [a for a in actions if a.startswith(("restarted", "escalated"))]
    assert len(rig.restarts()) == 1
    assert rig.policy.incident("worker")["state"] == "failing"
    assert rig.policy.check_state(CANARY)["cause"] == "broker"
    subjects = rig.mails(3)
    assert subjects[1:] == ["[StudyBuddy FAILING] broker:connection (+1 more)",
                            "[StudyBuddy FAILING] broker:connection (+1 more) (still)"]
    # Both come back: both incidents are resolved.
    assert sorted(rig.round([], [BROKER, CANARY])) == ["resolved broker", "resolved worker"]
    assert sorted(s.split("]")[0] for s in rig.mails(5)[3:]) == ["[StudyBuddy RECOVERED"] * 2


def test_not_under_systemd_no_systemctl_and_one_log_line(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.systemd = False
    caplog.set_level(logging.WARNING, logger="studybuddy.monitor.policy")
    actions: list[str] = []
    for _ in range(10):
        actions += rig.round([READY, CANARY], [BROKER])
        rig.clock.advance(300)
    assert rig.systemctl.calls() == []
    assert sorted(actions) == sorted(["opened web", "opened worker", f"not restarting {WEB}: not under systemd",
                                      f"not restarting {WORKER}: not under systemd"])
    assert caplog.text.count("not running under systemd") == 1
    assert rig.policy.unit_state(WORKER)["restarts"] == []
    rig.smtp.inbox.wait_for(2)
    text, _ = decode_parts(rig.smtp.inbox.messages[0])
    assert "not running under systemd" in text and "Action: restarted" not in text


# -- incident mail: open, reminders, resolve; the hourly cap counts mails --------------------

def with_mail(rig: Rig, **mail: int) -> None:
    rig.cfg = rig.cfg.replace(mail=mail)
    rig.policy = rig.new_policy()


def broker_outage(rig: Rig, rounds: int) -> list[str]:
    actions: list[str] = []
    for _ in range(rounds):
        actions += rig.round([BROKER, READY, UPLOAD, *CANARIES])
        rig.clock.advance(60)
    actions += rig.round([], [BROKER, READY, UPLOAD, *CANARIES])
    rig.clock.advance(60)
    return actions


def test_two_incidents_in_one_hour_are_both_mailed_and_resolved(rig: Rig) -> None:
    """Issue 13, defect 5: one outage spent the hourly cap on per-check mails, the next was silent
    and its recovery mails were dropped as duplicates."""
    with_mail(rig, max_per_hour=3, repeat_minutes=60)
    first = broker_outage(rig, 8)
    rig.clock.advance(600)
    second = broker_outage(rig, 8)
    assert first == second == ["opened broker", "resolved broker"]
    title = f"{BROKER} (+8 more)"
    # The fourth mail is over the cap of 3 and still goes out: a resolve is never held back.
    assert rig.mails(4) == [f"[StudyBuddy FAILING] {title}", f"[StudyBuddy RECOVERED] {title}"] * 2
    assert rig.systemctl.calls() == []
    closes = rig.services.store.monitor.events(kind="incident_close")
    opens = rig.services.store.monitor.events(kind="incident_open")
    assert len(opens) == len(closes) == 2 and opens[0].data["incident"] != opens[1].data["incident"]
    assert closes[1].created_at - opens[0].created_at < 3600
    assert rig.services.store.monitor.events(kind="mail_suppressed") == []


def test_reminders_come_at_the_interval_while_an_incident_is_open(rig: Rig) -> None:
    with_mail(rig, repeat_minutes=30)
    for _ in range(22):  # 110 minutes of a full disk, a round every 5 minutes
        rig.check("disk:free", "fail")
        rig.clock.advance(300)
    rig.check("disk:free", "pass")
    # Opened at the third round (10 min), reminders 30, 60 and 90 minutes later, then the resolve.
    assert rig.mails(5) == ["[StudyBuddy FAILING] disk:free"] + ["[StudyBuddy FAILING] disk:free (still)"] * 3 + [
        "[StudyBuddy RECOVERED] disk:free"]
    text, _ = decode_parts(rig.smtp.inbox.messages[1])
    assert "It is still going on." in text


def test_the_hourly_cap_counts_mails_and_never_holds_a_resolve_back(rig: Rig) -> None:
    with_mail(rig, max_per_hour=2, repeat_minutes=20)
    for _ in range(3):  # nine failing checks, one cause: one mail
        rig.round([BROKER, READY, UPLOAD, *CANARIES])
        rig.clock.advance(60)
    assert rig.mails(1) == [f"[StudyBuddy FAILING] {BROKER} (+8 more)"]
    for _ in range(3):  # a second cause: the second mail of the hour
        rig.round([BROKER, READY, UPLOAD, *CANARIES, "disk:free"])
        rig.clock.advance(60)
    for _ in range(3):  # a third: held back by the cap, and owed
        rig.round([BROKER, READY, UPLOAD, *CANARIES, "disk:free", "ai:responseTime/openai"])
        rig.clock.advance(60)
    assert rig.mails(2)[1] == "[StudyBuddy FAILING] disk:free"
    assert rig.policy.incident("ai:openai")["owed"] == "failing"
    # 34 minutes in, the reminders of both are due but over the cap: dropped, and counted.
    rig.clock.advance(1500)
    rig.round([BROKER, READY, UPLOAD, *CANARIES, "disk:free", "ai:responseTime/openai"])
    assert len(rig.subjects()) == 2
    # The broker comes back: its resolve is mailed though the cap is spent, and tells of the two
    # reminders that were not.
    assert rig.round(["disk:free", "ai:responseTime/openai"], [BROKER, READY, UPLOAD, *CANARIES]) == [
        "resolved broker"]
    assert rig.mails(3)[2] == f"[StudyBuddy RECOVERED] {BROKER} (+8 more)"
    text, _ = decode_parts(rig.smtp.inbox.messages[2])
    assert "2 further alert(s) were not mailed" in text
    # An hour later the cap has room: the disk's reminder, and the ai incident's open mail, owed
    # all along.
    rig.clock.advance(3600)
    rig.round(["disk:free", "ai:responseTime/openai"])
    assert rig.mails(5)[3:] == ["[StudyBuddy FAILING] disk:free (still)",
                                "[StudyBuddy FAILING] ai:responseTime/openai"]
    text, _ = decode_parts(rig.smtp.inbox.messages[4])
    assert "further alert" not in text and "the AI provider openai" in text
