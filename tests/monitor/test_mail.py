"""Alert mail and the daily report against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from studybuddy.config import Config
from studybuddy.monitor.alerts import Alert, Alerter
from studybuddy.monitor.mailer import Mail, Mailer, MailError
from studybuddy.monitor.report import build_report
from studybuddy.services import Services
from studybuddy.store.models import MonitorEvent, new_id

from .helpers import Clock, SMTPServer, TLSCertificates, decode_parts, free_port, subject


def mail_config(cfg: Config, server: SMTPServer | None, certs: TLSCertificates, **extra: Any) -> Config:
    return cfg.replace(mail={
        "enabled": True, "host": "localhost", "port": server.port if server else free_port(),
        "security": server.mode if server else "starttls", "ca_file": str(certs.ca_file),
        "sender": "monitor@studybuddy.test", "admin_to": ["admin@studybuddy.test"],
        "timeout_seconds": 5.0, **extra,
    })


def make_alerter(services: Services, cfg: Config, clock: Clock) -> Alerter:
    return Alerter(services.store, cfg, Mailer(cfg.mail, "host.test"), clock, host="host.test")


def test_starttls_with_a_trusted_self_signed_certificate(cfg: Config, smtp: SMTPServer,
                                                         certs: TLSCertificates) -> None:
    mailer = Mailer(mail_config(cfg, smtp, certs).mail)
    mailer.send(Mail("hello", "plain body", "<p>html body</p>"))
    msg = smtp.inbox.wait_for(1)[0]
    assert smtp.inbox.tls_used == [True]
    assert msg["Subject"] == "hello"
    assert msg["From"] == "monitor@studybuddy.test"
    assert smtp.inbox.envelopes[0]["to"] == ["admin@studybuddy.test"]
    text, html = decode_parts(msg)
    assert "plain body" in text and "<p>html body</p>" in html


def test_implicit_tls(cfg: Config, certs: TLSCertificates) -> None:
    server = SMTPServer("tls", certs).start()
    try:
        Mailer(mail_config(cfg, server, certs).mail).send(Mail("over tls", "t", "<p>h</p>"))
        server.inbox.wait_for(1)
        assert server.inbox.tls_used == [True]
    finally:
        server.stop()


def test_an_untrusted_certificate_is_refused(cfg: Config, smtp: SMTPServer, certs: TLSCertificates,
                                             tmp_path: Path) -> None:
    other = TLSCertificates(tmp_path / "other") if (tmp_path / "other").mkdir() is None else None
    assert other is not None
    mailer = Mailer(mail_config(cfg, smtp, other).mail)
    with pytest.raises(MailError, match="CERTIFICATE_VERIFY_FAILED|SSL"):
        mailer.send(Mail("x", "y", "<p>z</p>"))
    assert smtp.inbox.messages == []


def test_each_alert_kind_is_mailed_with_text_and_html(cfg: Config, services: Services, smtp: SMTPServer,
                                                      certs: TLSCertificates) -> None:
    cfg = mail_config(cfg, smtp, certs)
    alerter = make_alerter(services, cfg, Clock())
    for kind in ("failing", "escalated", "recovered", "gave_up"):
        outcome = alerter.alert(Alert(kind, f"check-{kind}", kind, f"output of {kind}",
                                      "studybuddy-worker.service", "some action"))
        assert outcome == "sent"
    messages = smtp.inbox.wait_for(4)
    subjects = [subject(m) for m in messages]
    assert subjects == [
        "[StudyBuddy FAILING] check-failing (studybuddy-worker.service)",
        "[StudyBuddy CRITICAL, ESCALATED] check-escalated (studybuddy-worker.service)",
        "[StudyBuddy RECOVERED] check-recovered (studybuddy-worker.service)",
        "[StudyBuddy CRITICAL, SYSTEMD GAVE UP] check-gave_up (studybuddy-worker.service)",
    ]
    text, html = decode_parts(messages[1])
    assert "not cured by a restart" in text and "output of escalated" in text
    assert "output of escalated" in html and "some action" in html
    kinds = [e.data["kind"] for e in services.store.monitor.events(kind="mail")]
    assert sorted(kinds) == ["escalated", "failing", "gave_up", "recovered"]


def test_hostile_output_is_escaped_in_html(cfg: Config, services: Services, smtp: SMTPServer,
                                           certs: TLSCertificates) -> None:
    cfg = mail_config(cfg, smtp, certs)
    hostile = '<script>alert("x")</script><img src=x onerror=steal()> & "quotes"'
    make_alerter(services, cfg, Clock()).alert(Alert("failing", "web:<b>check</b>", "failing", hostile))
    text, html = decode_parts(smtp.inbox.wait_for(1)[0])
    assert "<script>" not in html and "<img" not in html and "<b>check</b>" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;check&lt;/b&gt;" in html
    assert hostile in text  # the plain text part shows it verbatim


def test_alerts_are_deduplicated_and_repeated_at_most_hourly(cfg: Config, services: Services,
                                                             smtp: SMTPServer, certs: TLSCertificates) -> None:
    cfg = mail_config(cfg, smtp, certs, repeat_minutes=60)
    clock = Clock()
    alerter = make_alerter(services, cfg, clock)
    failing = Alert("failing", "canary:latency/summarize", "failing", "no answer")
    assert alerter.alert(failing) == "sent"
    clock.advance(300)
    assert alerter.alert(failing) == "duplicate"
    clock.advance(3000)
    assert alerter.alert(failing) == "duplicate"
    # A different state of the same check is news.
    assert alerter.alert(Alert("escalated", "canary:latency/summarize", "escalated")) == "sent"
    clock.advance(3601)
    assert alerter.alert(Alert("escalated", "canary:latency/summarize", "escalated")) == "sent"
    subjects = [subject(m) for m in smtp.inbox.wait_for(3)]
    assert subjects[2].endswith("(still)")
    assert len(subjects) == 3
    # A new Alerter over the same store (a monitor restart) remembers what was sent.
    again = make_alerter(services, cfg, clock)
    assert again.alert(Alert("escalated", "canary:latency/summarize", "escalated")) == "duplicate"


def test_hourly_cap_folds_the_suppressed_count_into_the_next_mail(
        cfg: Config, services: Services, smtp: SMTPServer, certs: TLSCertificates) -> None:
    cfg = mail_config(cfg, smtp, certs, max_per_hour=2)
    clock = Clock()
    alerter = make_alerter(services, cfg, clock)
    outcomes = [alerter.alert(Alert("failing", f"check-{i}", "failing")) for i in range(5)]
    assert outcomes == ["sent", "sent", "suppressed", "suppressed", "suppressed"]
    clock.advance(3601)
    assert alerter.alert(Alert("failing", "check-9", "failing")) == "sent"
    messages = smtp.inbox.wait_for(3)
    assert len(messages) == 3
    text, html = decode_parts(messages[2])
    assert "3 further alert(s) were not mailed" in text
    assert "3 further alert(s) were not mailed" in html
    # Counted once: the next mail does not repeat it.
    assert alerter.alert(Alert("failing", "check-10", "failing")) == "sent"
    text, _ = decode_parts(smtp.inbox.wait_for(4)[3])
    assert "further alert" not in text


def test_smtp_failure_is_logged_kept_and_retried(cfg: Config, services: Services, certs: TLSCertificates,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    cfg = mail_config(cfg, None, certs)  # nothing listens on that port
    clock = Clock()
    alerter = make_alerter(services, cfg, clock)
    assert alerter.alert(Alert("failing", "store:responseTime", "failing", "disk I/O error")) == "queued"
    assert "could not send mail" in caplog.text
    assert alerter.flush() == 0  # still down
    server = SMTPServer("starttls", certs)
    server.port = cfg.mail.port
    server.controller.port = cfg.mail.port
    server.start()
    try:
        assert alerter.flush() == 1
        msg = server.inbox.wait_for(1)[0]
        assert "store:responseTime" in subject(msg)
        assert alerter.flush() == 0  # nothing left
    finally:
        server.stop()


def test_daily_report_is_mailed(cfg: Config, services: Services, smtp: SMTPServer,
                                certs: TLSCertificates) -> None:
    cfg = mail_config(cfg, smtp, certs)
    clock = Clock()
    store = services.store
    for i in range(4):
        store.monitor.add_event(MonitorEvent(new_id(), "round", "", {"results": {
            "web:responseTime": "pass" if i else "fail", "canary:latency/summarize": "pass"}},
            clock.now - 3600 * (i + 1)))
    store.monitor.add_event(MonitorEvent(new_id(), "incident_open", "web:responseTime",
                                         {"incident": "i1", "output": "<b>refused</b>"}, clock.now - 7000))
    store.monitor.add_event(MonitorEvent(new_id(), "restart", "web:responseTime",
                                         {"unit": "studybuddy-web.service", "ok": True, "output": "ok"},
                                         clock.now - 6900))
    latest = {"broker:queueDepth/summarize": {"status": "pass", "observedValue": 3},
              "canary:latency/summarize": {"status": "pass", "observedValue": 42.0},
              "ai:responseTime/openai": {"status": "fail", "output": "APIConnectionError"}}
    mail = build_report(cfg, store, clock.now, "host.test", latest)
    alerter = make_alerter(services, cfg, clock)
    assert alerter.send_mail(mail, "report") == "sent"
    msg = smtp.inbox.wait_for(1)[0]
    assert subject(msg).startswith("[StudyBuddy] Daily report")
    text, html = decode_parts(msg)
    assert "web:responseTime" in text and "75.00%" in text
    assert "canary:latency/summarize" in text and "100.00%" in text
    assert "studybuddy-web.service" in text
    assert "depth 3" in text and "canary 42.0 ms" in text
    assert "openai: fail" in text
    assert "&lt;b&gt;refused&lt;/b&gt;" in html


def test_smtp_auth_after_starttls(cfg: Config, certs: TLSCertificates) -> None:
    server = SMTPServer("starttls", certs, credentials=("monitor", "smtp pass")).start()
    try:
        good = mail_config(cfg, server, certs, username="monitor", password="smtp pass")
        Mailer(good.mail).send(Mail("authenticated", "t", "<p>h</p>"))
        assert subject(server.inbox.wait_for(1)[0]) == "authenticated"
        bad = mail_config(cfg, server, certs, username="monitor", password="wrong", timeout_seconds=2.0)
        with pytest.raises(MailError):
            Mailer(bad.mail).send(Mail("refused", "t", "<p>h</p>"))
        assert len(server.inbox.messages) == 1
    finally:
        server.stop()


def test_one_smtp_failure_does_not_make_every_alert_wait(cfg: Config, services: Services,
                                                         certs: TLSCertificates) -> None:
    import socket as socket_mod
    import time as time_mod

    # A server that accepts and never speaks: each attempt would wait out the whole timeout.
    silent = socket_mod.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        cfg = mail_config(cfg, None, certs, port=silent.getsockname()[1], timeout_seconds=1.0)
        alerter = make_alerter(services, cfg, Clock())
        started = time_mod.monotonic()
        outcomes = [alerter.alert(Alert("failing", f"canary:latency/q{i}", "failing")) for i in range(6)]
        assert outcomes == ["queued"] * 6
        assert time_mod.monotonic() - started < 3.0
        assert len(services.store.monitor.get_state("alerts")["outbox"]) == 6
    finally:
        silent.close()
