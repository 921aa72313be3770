"""The strike policy with an injected clock, a real (recording) systemctl and a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from studybuddy.config import Config
from studybuddy.health import CheckResult
from studybuddy.monitor.alerts import Alerter
from studybuddy.monitor.mailer import Mailer
from studybuddy.monitor.policy import Policy
from studybuddy.monitor.restarter import Restarter
from studybuddy.services import Services

from .helpers import Clock, FakeSystemctl, SMTPServer, TLSCertificates

WORKER = "studybuddy-worker.service"
WEB = "studybuddy-web.service"
UNITS = {"canary:latency/summarize": WORKER, "upload:roundTrip": WORKER, "web:responseTime": WEB,
         "store:responseTime": ""}


class Rig:
    def __init__(self, cfg: Config, services: Services, systemctl: FakeSystemctl, smtp: SMTPServer):
        self.cfg = cfg
        self.services = services
        self.systemctl = systemctl
        self.smtp = smtp
        self.clock = Clock()
        self.policy = self.new_policy()

    def new_policy(self) -> Policy:
        """A policy as a freshly started monitor builds it, over the same store."""
        mc = self.cfg.monitor
        restarter = Restarter(mc.units, str(self.systemctl.path), 5.0)
        alerter = Alerter(self.services.store, self.cfg, Mailer(self.cfg.mail, "host.test"), self.clock,
                          host="host.test")
        return Policy(self.services.store, self.cfg, restarter, alerter, self.clock)

    def check(self, key: str, status: str) -> list[str]:
        return self.policy.observe([CheckResult(key.split("/")[0], status, output=f"{key} {status}",
                                                component_id=key.split("/")[1] if "/" in key else "")],
                                   lambda r: UNITS.get(r.key, ""))

    def restarts(self) -> list[str]:
        return [c for c in self.systemctl.calls() if " restart " in f" {c} "]

    def subjects(self) -> list[str]:
        return self.smtp.inbox.subjects()


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


CANARY = "canary:latency/summarize"


def test_three_strikes_make_one_restart(rig: Rig) -> None:
    assert rig.check(CANARY, "fail") == []
    rig.clock.advance(300)
    assert rig.check(CANARY, "fail") == []
    assert rig.restarts() == []
    rig.clock.advance(300)
    assert rig.check(CANARY, "fail") == [f"failing {CANARY}", f"restarted {WORKER}"]
    assert rig.restarts() == [f"--no-ask-password --no-block restart {WORKER}"]
    rig.smtp.inbox.wait_for(1)
    assert rig.subjects() == [f"[StudyBuddy FAILING] {CANARY} ({WORKER})"]
    events = rig.services.store.monitor.events(kind="restart")
    assert len(events) == 1 and events[0].data["unit"] == WORKER and events[0].data["ok"] is True


def test_a_pass_resets_the_strikes(rig: Rig) -> None:
    for status in ("fail", "fail", "pass", "fail", "fail"):
        rig.check(CANARY, status)
        rig.clock.advance(300)
    assert rig.restarts() == []
    assert rig.policy.check_state(CANARY)["strikes"] == 2


def test_cooldown_blocks_a_second_restart_of_the_same_unit(rig: Rig) -> None:
    for _ in range(3):
        rig.check(CANARY, "fail")
        rig.clock.advance(60)
    assert len(rig.restarts()) == 1
    # Another check that blames the same unit reaches three strikes within the cooldown.
    actions = []
    for _ in range(3):
        actions += rig.check("upload:roundTrip", "fail")
        rig.clock.advance(60)
    assert f"cooldown {WORKER}" in actions
    assert len(rig.restarts()) == 1
    # After the cooldown the upload incident gets its own restart.
    rig.clock.advance(600)
    assert rig.check("upload:roundTrip", "fail") == [f"restarted {WORKER}"]
    assert len(rig.restarts()) == 2


def test_no_cure_escalates_and_never_loops(rig: Rig) -> None:
    actions: list[str] = []
    for _ in range(30):  # two and a half hours of failing rounds
        actions += rig.check(CANARY, "fail")
        rig.clock.advance(300)
    assert actions.count(f"restarted {WORKER}") == 1
    assert actions.count(f"escalated {CANARY}") == 1
    assert len(rig.restarts()) == 1
    assert rig.policy.check_state(CANARY)["state"] == "escalated"
    rig.smtp.inbox.wait_for(3)
    subjects = rig.subjects()
    assert subjects[0] == f"[StudyBuddy FAILING] {CANARY} ({WORKER})"
    assert subjects[1] == f"[StudyBuddy CRITICAL, ESCALATED] {CANARY} ({WORKER})"
    # While it lasts, the critical mail repeats at most hourly (2.5 h: the first and two repeats).
    assert subjects.count(f"[StudyBuddy CRITICAL, ESCALATED] {CANARY} (still) ({WORKER})") == 2
    assert len(subjects) == 4
    escalation = rig.services.store.monitor.events(kind="escalation")
    assert len(escalation) == 1 and "did not cure" in escalation[0].data["reason"]


def test_recovery_is_announced_once(rig: Rig) -> None:
    for _ in range(3):
        rig.check(CANARY, "fail")
        rig.clock.advance(300)
    assert rig.check(CANARY, "pass") == [f"recovered {CANARY}"]
    rig.clock.advance(300)
    assert rig.check(CANARY, "pass") == []
    rig.smtp.inbox.wait_for(2)
    assert rig.subjects()[1] == f"[StudyBuddy RECOVERED] {CANARY} ({WORKER})"
    assert len(rig.subjects()) == 2
    closes = rig.services.store.monitor.events(kind="incident_close")
    assert len(closes) == 1 and closes[0].data["duration"] == 900


def test_a_failed_restart_escalates(rig: Rig) -> None:
    rig.systemctl.fail_with(1, "Failed to restart studybuddy-worker.service: Interactive authentication required.")
    for _ in range(3):
        actions = rig.check(CANARY, "fail")
        rig.clock.advance(300)
    assert actions == [f"failing {CANARY}", f"escalated {CANARY}"]
    rig.smtp.inbox.wait_for(2)
    _, html = rig.subjects()[1], rig.smtp.inbox.messages[1].get_body(preferencelist=("plain",))
    assert html is not None and "Interactive authentication required" in html.get_content()


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
    assert outcomes == [f"restarted {WORKER}"] * 4 + [f"escalated {CANARY}"] * 2
    assert len(rig.restarts()) == 4
    escalations = rig.services.store.monitor.events(kind="escalation")
    assert len(escalations) == 2 and all("start limit" in e.data["reason"] for e in escalations)
    # Half an hour later the budget is back.
    rig.clock.advance(1800)
    for _ in range(3):
        actions = rig.check(CANARY, "fail")
    assert actions == [f"failing {CANARY}", f"restarted {WORKER}"]


def test_a_check_without_a_unit_only_mails(rig: Rig) -> None:
    for _ in range(5):
        rig.check("store:responseTime", "fail")
        rig.clock.advance(300)
    assert rig.restarts() == []
    rig.smtp.inbox.wait_for(1)
    assert rig.subjects() == ["[StudyBuddy FAILING] store:responseTime"]


def test_state_survives_a_monitor_restart(rig: Rig) -> None:
    rig.check(CANARY, "fail")
    rig.clock.advance(300)
    rig.check(CANARY, "fail")
    rig.policy = rig.new_policy()  # the monitor restarted
    rig.clock.advance(300)
    assert rig.check(CANARY, "fail") == [f"failing {CANARY}", f"restarted {WORKER}"]
    rig.policy = rig.new_policy()
    for _ in range(3):
        rig.clock.advance(300)
        actions = rig.check(CANARY, "fail")
    assert actions == [f"escalated {CANARY}"]
    assert len(rig.restarts()) == 1
    rig.policy = rig.new_policy()
    assert rig.policy.check_state(CANARY)["state"] == "escalated"
    rig.clock.advance(300)
    assert rig.check(CANARY, "pass") == [f"recovered {CANARY}"]
    rig.smtp.inbox.wait_for(3)
    assert [s.split("]")[0] for s in rig.subjects()] == [
        "[StudyBuddy FAILING", "[StudyBuddy CRITICAL, ESCALATED", "[StudyBuddy RECOVERED"]


def test_a_unit_stopped_on_purpose_is_left_alone(rig: Rig) -> None:
    from studybuddy.monitor.restarter import stopped_on_purpose

    mc = rig.cfg.monitor
    restarter = Restarter(mc.units, str(rig.systemctl.path), 5.0)
    rig.policy = Policy(rig.services.store, rig.cfg, restarter,
                        Alerter(rig.services.store, rig.cfg, Mailer(rig.cfg.mail), rig.clock),
                        rig.clock, stopped_on_purpose=lambda unit: stopped_on_purpose(restarter.show(unit)))
    rig.systemctl.show_output("ActiveState=inactive\nSubState=dead\nResult=success\n")
    for _ in range(3):
        actions = rig.check(CANARY, "fail")
        rig.clock.advance(300)
    assert actions == [f"failing {CANARY}", f"left {WORKER} stopped"]
    assert rig.restarts() == []
    # A crashed unit is another matter.
    rig.systemctl.show_output("ActiveState=failed\nSubState=failed\nResult=exit-code\n")
    assert rig.check(CANARY, "fail") == [f"restarted {WORKER}"]
