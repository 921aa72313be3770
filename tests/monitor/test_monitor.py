"""Whole monitor rounds and the operations CLI, with a real web server, SMTP server and systemctl stand-in."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from studybuddy.cli import main
from studybuddy.config import Config
from studybuddy.monitor.service import Monitor
from studybuddy.services import Services

from .helpers import Clock, FakeSystemctl, SMTPServer, TLSCertificates, free_port, subject

WEB = "studybuddy-web.service"


def with_mail(cfg: Config, smtp: SMTPServer, certs: TLSCertificates, systemctl: FakeSystemctl,
              **monitor: Any) -> Config:
    return cfg.replace(
        mail={"enabled": True, "host": "localhost", "port": smtp.port, "security": "starttls",
              "ca_file": str(certs.ca_file), "admin_to": ["admin@studybuddy.test"], "timeout_seconds": 5.0},
        monitor={"systemctl": str(systemctl.path), **monitor},
    )


def test_a_dead_web_is_restarted_then_recovery_is_mailed(cfg: Config, services: Services, smtp: SMTPServer,
                                                         certs: TLSCertificates, tmp_path: Path) -> None:
    from studybuddy.web import create_app
    from studybuddy.web.serve import serve

    systemctl = FakeSystemctl(tmp_path / "bin")
    port = free_port()
    cfg = with_mail(cfg, smtp, certs, systemctl, web_url=f"http://127.0.0.1:{port}")
    services.config = cfg
    clock = Clock()
    # The host here has no systemd; the recording systemctl stands in for it.
    mon = Monitor(services, clock=clock, checks=["store", "web"], host="host.test", systemd=lambda: True)
    outcomes = []
    for _ in range(3):
        outcomes.append(mon.run_round())
        clock.advance(300)
    assert [o.counts()["fail"] for o in outcomes] == [1, 1, 1]
    assert outcomes[2].actions == ["opened web", f"restarted {WEB}"]
    # Asked first whether the web was stopped on purpose, then restarted.
    assert systemctl.calls()[0].startswith(f"show {WEB} ")
    assert systemctl.calls()[1:] == [f"--no-ask-password --no-block restart {WEB}"]
    smtp.inbox.wait_for(1)
    assert smtp.inbox.subjects() == [f"[StudyBuddy FAILING] web:responseTime ({WEB})"]

    # "systemd restarted it": the web answers again.
    threading.Thread(target=serve, args=(create_app(cfg, services), "127.0.0.1", port), daemon=True).start()
    for _ in range(50):
        outcome = mon.run_round()
        if outcome.counts()["fail"] == 0:
            break
        threading.Event().wait(0.1)
    assert outcome.actions == ["resolved web"]
    smtp.inbox.wait_for(2)
    assert smtp.inbox.subjects()[1] == f"[StudyBuddy RECOVERED] web:responseTime ({WEB})"
    # Rounds are recorded for the daily report, and the latest results for `studybuddy status`.
    assert len(services.store.monitor.events(kind="round")) >= 4
    latest = services.store.monitor.get_state("latest") or {}
    assert latest["web:responseTime"]["status"] == "pass"


def test_daily_report_once_a_day_at_the_configured_time(cfg: Config, services: Services, smtp: SMTPServer,
                                                        certs: TLSCertificates, tmp_path: Path) -> None:
    cfg = with_mail(cfg, smtp, certs, FakeSystemctl(tmp_path / "bin"), daily_report_time="08:00")
    services.config = cfg
    zone = ZoneInfo(cfg.app.timezone)
    clock = Clock(dt.datetime(2026, 3, 10, 7, 59, tzinfo=zone).timestamp())
    mon = Monitor(services, clock=clock, checks=["store", "version"], host="host.test")
    mon.run_round()
    assert mon.maybe_report() is False
    clock.advance(60)
    assert mon.maybe_report() is True
    assert mon.maybe_report() is False
    # A restarted monitor does not send it again the same day.
    assert Monitor(services, clock=clock, checks=["store"]).maybe_report() is False
    clock.advance(24 * 3600)
    assert mon.maybe_report() is True
    messages = smtp.inbox.wait_for(2)
    assert [subject(m) for m in messages] == ["[StudyBuddy] Daily report 2026-03-10",
                                                     "[StudyBuddy] Daily report 2026-03-11"]
    text = messages[0].get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "store:responseTime" in text and "100.00%" in text


def test_notify_gave_up_mails_once(cfg: Config, services: Services, smtp: SMTPServer, certs: TLSCertificates,
                                   tmp_path: Path) -> None:
    cfg = with_mail(cfg, smtp, certs, FakeSystemctl(tmp_path / "bin"))
    services.config = cfg
    mon = Monitor(services, host="host.test")
    assert mon.notify_gave_up(WEB, "Result=start-limit-hit") == "sent"
    assert mon.notify_gave_up(WEB, "Result=start-limit-hit") == "duplicate"
    msg = smtp.inbox.wait_for(1)[0]
    assert subject(msg) == f"[StudyBuddy CRITICAL, SYSTEMD GAVE UP] systemd:{WEB} ({WEB})"


# -- CLI ------------------------------------------------------------------------------------

def cli_env(cfg: Config, **extra: str) -> dict[str, str]:
    return {"STUDYBUDDY_APP__STATE_DIR": str(cfg.state_path), "STUDYBUDDY_CONFIG": "",
            "STUDYBUDDY_WEB__SECRET_KEY": "k" * 32, **extra}


@pytest.mark.parametrize("command", ["monitor", "status", "probe", "notify-failure"])
def test_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_status_shows_every_check(cfg: Config, services: Services) -> None:
    result = CliRunner().invoke(main, ["status"], env=cli_env(cfg))
    assert result.exit_code == 0, result.output
    for key in ("store:responseTime", "broker:connection", "broker:queueDepth/summarize", "disk:free",
                "app:version", "web:probe", "canary:probe", "upload:probe", "ai:probe", "units:probe"):
        assert key in result.output
    assert "overall: warn" in result.output  # the monitor has not run yet


def test_status_json_after_a_monitor_round(cfg: Config, tmp_path: Path) -> None:
    env = cli_env(cfg, STUDYBUDDY_MONITOR__CANARY_TIMEOUT_SECONDS="0.3",
                  STUDYBUDDY_MONITOR__WEB_URL=f"http://127.0.0.1:{free_port()}",
                  STUDYBUDDY_MONITOR__SYSTEMCTL=str(FakeSystemctl(tmp_path / "bin").path))
    once = CliRunner().invoke(main, ["monitor", "--once"], env=env)
    assert once.exit_code == 1, once.output  # the web and the canary fail: nothing serves them
    assert "web:responseTime" in once.output and "canary:latency/summarize" in once.output
    result = CliRunner().invoke(main, ["status", "--json"], env=env)
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body["status"] == "fail"
    assert body["checks"]["web:responseTime"][0]["status"] == "fail"
    assert body["checks"]["store:responseTime"][0]["status"] == "pass"
    assert body["monitor"]["web:responseTime"]["strikes"] == 1


def test_probe_one_check(cfg: Config, services: Services) -> None:
    result = CliRunner().invoke(main, ["probe", "store"], env=cli_env(cfg))
    assert result.exit_code == 0, result.output
    assert "store:responseTime" in result.output and "pass" in result.output
    result = CliRunner().invoke(main, ["probe", "web", "--json"],
                                env=cli_env(cfg, STUDYBUDDY_MONITOR__WEB_URL=f"http://127.0.0.1:{free_port()}"))
    assert result.exit_code == 1
    assert json.loads(result.output)["status"] == "fail"
    result = CliRunner().invoke(main, ["probe", "nonsense"], env=cli_env(cfg))
    assert result.exit_code == 2 and "nonsense" in result.output


def test_notify_failure_command(cfg: Config, smtp: SMTPServer, certs: TLSCertificates, tmp_path: Path) -> None:
    systemctl = FakeSystemctl(tmp_path / "bin")
    systemctl.show_output("ActiveState=failed\nResult=start-limit-hit\nNRestarts=5\n")
    env = cli_env(cfg, STUDYBUDDY_MAIL__ENABLED="true", STUDYBUDDY_MAIL__HOST="localhost",
                  STUDYBUDDY_MAIL__PORT=str(smtp.port), STUDYBUDDY_MAIL__CA_FILE=str(certs.ca_file),
                  STUDYBUDDY_MAIL__ADMIN_TO="admin@studybuddy.test",
                  STUDYBUDDY_MONITOR__SYSTEMCTL=str(systemctl.path))
    result = CliRunner().invoke(main, ["notify-failure", WEB], env=env)
    assert result.exit_code == 0, result.output
    msg = smtp.inbox.wait_for(1)[0]
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "systemd gave up" in text and "start-limit-hit" in text


def test_a_round_that_cannot_run_is_mailed_directly(cfg: Config, services: Services, smtp: SMTPServer,
                                                    certs: TLSCertificates, tmp_path: Path) -> None:
    cfg = with_mail(cfg, smtp, certs, FakeSystemctl(tmp_path / "bin"))
    services.config = cfg
    clock = Clock()
    mon = Monitor(services, clock=clock, checks=["store"], host="host.test")
    assert mon.round_failed(RuntimeError("database is locked")) == "sent"
    assert mon.round_failed(RuntimeError("database is locked")) == "duplicate"
    clock.advance(3601)
    assert mon.round_failed(RuntimeError("database is locked")) == "sent"
    messages = smtp.inbox.wait_for(2)
    assert subject(messages[0]) == "[StudyBuddy FAILING] monitor:round"


# -- whole rounds: blame and incidents with real parts ---------------------------------------

def test_without_systemd_the_monitor_runs_no_systemctl(cfg: Config, services: Services, smtp: SMTPServer,
                                                       certs: TLSCertificates, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    from studybuddy.monitor.restarter import under_systemd

    if under_systemd():
        pytest.skip("this host runs systemd: the outside-systemd path cannot be tried")
    systemctl = FakeSystemctl(tmp_path / "bin")
    cfg = with_mail(cfg, smtp, certs, systemctl, web_url=f"http://127.0.0.1:{free_port()}")
    services.config = cfg
    clock = Clock()
    mon = Monitor(services, clock=clock, checks=["store", "web", "units"], host="host.test")
    actions: list[str] = []
    for _ in range(6):
        actions += mon.run_round().actions
        clock.advance(300)
    assert systemctl.calls() == []
    assert actions == ["opened web", f"not restarting {WEB}: not under systemd"]
    assert caplog.text.count("not running under systemd: units are not restarted") == 1
    assert services.store.monitor.events(kind="restart") == []
    text = smtp.inbox.wait_for(1)[0].get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "the monitor is not running under systemd" in text
