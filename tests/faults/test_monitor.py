"""Drills 5, 6 and 9 of the monitor: two broker outages within one hour over the real RabbitMQ
(each one incident, mailed on open and on resolve, nothing restarted for it), and the canary probe
with the broker away leaving no job behind. The monitor's rules in detail are in tests/monitor."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from studybuddy.config import Config
from studybuddy.monitor.service import Monitor
from studybuddy.services import Services

from ..monitor.helpers import Clock, FakeSystemctl, SMTPServer, TLSCertificates, free_port, subject
from ..monitor.test_monitor import with_mail
from ..monitor.test_probes import _handlers, dead_broker_config


def test_probe_canary_command_with_the_broker_down_leaves_no_jobs(cfg: Config) -> None:
    """Drill 9: `studybuddy probe canary` with the broker down left six ping jobs behind."""
    from click.testing import CliRunner

    from studybuddy.cli import main

    broker_url = dead_broker_config(cfg).broker.url
    env = {"STUDYBUDDY_APP__STATE_DIR": str(cfg.state_path), "STUDYBUDDY_CONFIG": "",
           "STUDYBUDDY_WEB__SECRET_KEY": "k" * 32, "STUDYBUDDY_BROKER__URL": broker_url,
           "STUDYBUDDY_BROKER__CONNECT_TIMEOUT": "0.5", "STUDYBUDDY_BROKER__PUBLISH_CONFIRM_TIMEOUT": "0.5",
           "STUDYBUDDY_MONITOR__CANARY_TIMEOUT_SECONDS": "0.5"}
    Services(cfg).close()  # the installation exists; only its broker is away
    outcome = CliRunner().invoke(main, ["probe", "canary"], env=env)
    assert outcome.exit_code == 1, outcome.output
    assert outcome.output.count("canary:latency") == 6
    services = Services(cfg)
    try:
        assert services.store.jobs.count_by_state() == {}
    finally:
        services.close()


@pytest.mark.rabbitmq
@pytest.mark.slow
def test_two_broker_outages_in_one_hour_over_rabbitmq(tmp_path: Path, rabbit_url: str, smtp: SMTPServer,
                                                      certs: TLSCertificates) -> None:
    """The broker goes away twice within the hour (a proxy in front of RabbitMQ is cut): the web's
    readiness and the canaries fail with it, yet each outage is one incident, mailed on open and
    on resolve, and nothing is restarted."""
    from studybuddy.checks import CHECKS as REGISTRY
    from studybuddy.checks import HealthContext
    from studybuddy.web import create_app
    from studybuddy.web.serve import serve
    from studybuddy.worker.consumer import Worker
    from tests.helpers.rabbit import rabbit_config, wait_for
    from tests.helpers.tcpproxy import TcpProxy

    proxy = TcpProxy("127.0.0.1", 5672)
    proxy.up()
    systemctl = FakeSystemctl(tmp_path / "bin")
    port = free_port()
    with rabbit_config(tmp_path, rabbit_url, "outage") as base:
        cfg = with_mail(base.replace(broker={"url": f"amqp://guest:guest@127.0.0.1:{proxy.port}//",
                                             "connect_timeout": 1.0}),
                        smtp, certs, systemctl, web_url=f"http://127.0.0.1:{port}", strikes=2,
                        canary_timeout_seconds=2.0)
        cfg = cfg.replace(mail={"max_per_hour": 3})
        services = Services(cfg)
        worker = Worker(services, handlers=_handlers("ping"), run_reaper=False)
        try:
            threading.Thread(target=serve, args=(create_app(cfg, services), "127.0.0.1", port),
                             daemon=True).start()
            worker.start()
            assert worker.wait_ready(15)
            clock = Clock()
            mon = Monitor(services, clock=clock, checks=["store", "broker", "web", "canary"], host="host.test",
                          systemd=lambda: True)

            def consumed() -> bool:
                results = REGISTRY["broker"].fn(HealthContext(cfg, services))
                return all(r.status == "pass" for r in results if r.name == "broker:consumers")

            wait_for(consumed, timeout=30, what="the worker to consume every queue")
            assert mon.run_round().counts()["fail"] == 0
            for _ in range(2):
                proxy.down()
                actions: list[str] = []
                for _ in range(3):
                    clock.advance(300)
                    outcome = mon.run_round()
                    actions += outcome.actions
                failing = {r.key for r in outcome.results if r.status == "fail"}
                assert {"broker:connection", "web:responseTime", "canary:latency/summarize"} <= failing
                assert actions == ["opened broker"]
                proxy.up()
                wait_for(consumed, timeout=60, what="the worker to consume again")
                clock.advance(300)
                outcome = mon.run_round()
                assert outcome.counts()["fail"] == 0, [r for r in outcome.results if r.status == "fail"]
                assert outcome.actions == ["resolved broker"]
            subjects = smtp.inbox.wait_for(4)
            assert len(subjects) == 4
            assert [subject(m).split(" broker:connection")[0] for m in subjects] == [
                "[StudyBuddy FAILING]", "[StudyBuddy RECOVERED]"] * 2
            assert systemctl.calls() == []
            # The canaries of the outage rounds left nothing behind.
            assert services.store.jobs.count_by_state() == {}
        finally:
            worker.stop(timeout=10)
            services.close()
            proxy.down()
