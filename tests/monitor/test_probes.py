"""The monitor's end-to-end probes against a real web server, a real worker and (in CI) RabbitMQ."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from studybuddy.config import QUEUE_NAMES, Config
from studybuddy.health import CHECKS, HealthContext
from studybuddy.monitor import probes
from studybuddy.services import Services
from studybuddy.worker.consumer import Worker
from tests.conftest import skip_or_fail_in_ci
from tests.helpers.rabbit import rabbit_config

from .helpers import free_port


def _handlers(*types: str) -> dict[str, Any]:
    from studybuddy.worker.handlers import HANDLERS

    out = {}
    for job_type in types:
        module, _, name = HANDLERS[job_type].partition(":")
        out[job_type] = getattr(importlib.import_module(module), name)
    return out


@pytest.fixture
def worker(services: Services) -> Iterator[Worker]:
    w = Worker(services, handlers=_handlers("ping", "ingest"), run_reaper=False)
    w.start()
    assert w.wait_ready(10)
    yield w
    w.stop(timeout=10)


class WebServer:
    def __init__(self, cfg: Config, services: Services):
        from studybuddy.web import create_app
        from studybuddy.web.serve import serve

        self.app = create_app(cfg, services)
        ports: list[int] = []
        bound = threading.Event()

        def on_bound(port: int) -> None:
            ports.append(port)
            bound.set()

        self.thread = threading.Thread(target=serve, args=(self.app, "127.0.0.1", 0),
                                       kwargs={"threads": 4, "on_bound": on_bound}, daemon=True)
        self.thread.start()
        assert bound.wait(10)
        self.url = f"http://127.0.0.1:{ports[0]}"


@pytest.fixture
def web(cfg: Config, services: Services) -> WebServer:
    return WebServer(cfg, services)


def ctx_for(cfg: Config, services: Services, **monitor: Any) -> HealthContext:
    cfg = cfg.replace(monitor=monitor) if monitor else cfg
    return HealthContext(cfg, services)


def test_canary_goes_through_every_queue(cfg: Config, services: Services, worker: Worker) -> None:
    results = probes.probe_canary(ctx_for(cfg, services, canary_timeout_seconds=20.0))
    assert [r.component_id for r in results] == sorted(QUEUE_NAMES)
    assert all(r.status == "pass" and r.observed_unit == "ms" for r in results), results
    # The canary cleans up after itself.
    assert services.store.jobs.count_by_state().get("succeeded", 0) == 0


def test_canary_fails_without_a_worker_and_leaves_no_jobs(cfg: Config, services: Services) -> None:
    ctx = ctx_for(cfg, services, canary_timeout_seconds=0.5)
    results = probes.probe_canary(ctx)
    assert len(results) == 6 and all(r.status == "fail" for r in results)
    assert "no answer in" in results[0].output and "queued" in results[0].output
    # The ping jobs it gave up on are gone: no later round, reaper or worker finds them.
    assert services.store.jobs.count_by_state() == {}
    # Round after round, nothing piles up; once a worker answers, the canary passes.
    probes.probe_canary(ctx)
    assert services.store.jobs.count_by_state() == {}
    w = Worker(services, handlers=_handlers("ping"), run_reaper=False)
    w.start()
    try:
        assert w.wait_ready(10)
        results = probes.probe_canary(HealthContext(cfg.replace(monitor={"canary_timeout_seconds": 20.0}),
                                                    services, state=ctx.state))
        assert all(r.status == "pass" for r in results), results
        assert services.store.jobs.count_by_state() == {}
    finally:
        w.stop(timeout=10)


def test_canary_removes_ping_jobs_an_earlier_version_left_waiting(cfg: Config, services: Services,
                                                                  worker: Worker) -> None:
    from studybuddy.jobs import submit_job

    owner = probes.monitor_owner_id(ctx_for(cfg, services))
    left = submit_job(services, "ping", owner, params={"queue": "summarize"}).id
    ctx = HealthContext(cfg.replace(monitor={"canary_timeout_seconds": 20.0}), services,
                        state={"stale_canaries": [left]})
    assert all(r.status == "pass" for r in probes.probe_canary(ctx))
    assert services.store.jobs.get(left) is None and "stale_canaries" not in ctx.state


def dead_broker_config(cfg: Config) -> Config:
    """The broker at a loopback port nothing listens on: every connection is refused at once."""
    return cfg.replace(broker={"url": f"amqp://guest:guest@127.0.0.1:{free_port()}//", "connect_timeout": 0.5,
                               "publish_confirm_timeout": 0.5})


def test_canary_with_the_broker_unreachable_leaves_no_jobs(cfg: Config) -> None:
    cfg = dead_broker_config(cfg)
    services = Services(cfg)
    try:
        ctx = ctx_for(cfg, services, canary_timeout_seconds=0.5)
        results = probes.probe_canary(ctx)
        assert [r.component_id for r in results] == sorted(QUEUE_NAMES)
        assert all(r.status == "fail" for r in results), results
        assert all("never published" in r.output for r in results), results
        assert services.store.jobs.count_by_state() == {}
        assert ctx.state == {}
    finally:
        services.close()


@pytest.mark.rabbitmq
def test_canary_over_rabbitmq(tmp_path: Path, rabbit_url: str) -> None:
    with rabbit_config(tmp_path, rabbit_url, "canary") as cfg:
        _canary_over_rabbitmq(cfg)


def _canary_over_rabbitmq(cfg: Config) -> None:
    services = Services(cfg)
    w = Worker(services, handlers=_handlers("ping"), run_reaper=False)
    w.start()
    try:
        assert w.wait_ready(15)
        results = probes.probe_canary(ctx_for(cfg, services, canary_timeout_seconds=20.0))
        assert all(r.status == "pass" for r in results), results
        broker = {r.key: r for r in CHECKS["broker"].fn(HealthContext(cfg, services))}
        assert broker["broker:consumers/summarize"].observed_value >= 1
        assert broker["broker:consumers/summarize"].status == "pass"
    finally:
        w.stop(timeout=10)
        services.close()


@pytest.mark.rabbitmq
def test_no_consumer_fails_over_rabbitmq(tmp_path: Path, rabbit_url: str) -> None:
    with rabbit_config(tmp_path, rabbit_url, "noconsumer") as cfg:
        services = Services(cfg)
        try:
            results = {r.key: r for r in CHECKS["broker"].fn(HealthContext(cfg, services))}
            assert results["broker:connection"].status == "pass"
            assert results["broker:consumers/homework"].status == "fail"
            assert results["broker:consumers/homework"].output == "no worker consumes this queue"
        finally:
            services.close()


def test_web_probe(cfg: Config, services: Services, web: WebServer) -> None:
    result = probes.probe_web(ctx_for(cfg, services, web_url=web.url))[0]
    assert result.status == "pass" and result.observed_unit == "ms"
    down = probes.probe_web(ctx_for(cfg, services, web_url=f"http://127.0.0.1:{free_port()}"))[0]
    assert down.status == "fail" and "refused" in down.output.lower()


def test_upload_probe_round_trip(cfg: Config, services: Services, web: WebServer, worker: Worker) -> None:
    ctx = ctx_for(cfg, services, web_url=web.url, account_password="monitor password 123",
                  upload_timeout_seconds=30.0)
    result = probes.probe_upload(ctx)[0]
    assert result.status == "pass", result
    account = services.store.users.get_by_email(cfg.monitor.account_email)
    assert account is not None and not account.is_admin
    # Everything it made is gone again.
    assert services.store.courses.list_for_owner(account.id) == []
    # A second round reuses the account.
    assert probes.probe_upload(ctx)[0].status == "pass"


def test_upload_probe_removes_a_probe_course_left_behind(cfg: Config, services: Services, web: WebServer,
                                                         worker: Worker) -> None:
    """A probe whose web died under it could not delete its course; the next probe does."""
    from studybuddy.accounts import create_user
    from studybuddy.store.models import Course, new_id

    account = create_user(services.store, cfg.monitor.account_email, "monitor password 123", is_admin=False)
    services.store.courses.add(Course(new_id(), account.id, probes.PROBE_COURSE))
    services.store.courses.add(Course(new_id(), account.id, "a course of its own"))
    ctx = ctx_for(cfg, services, web_url=web.url, account_password="monitor password 123",
                  upload_timeout_seconds=30.0)
    assert probes.probe_upload(ctx)[0].status == "pass"
    assert [c.name for c in services.store.courses.list_for_owner(account.id)] == ["a course of its own"]


def test_upload_probe_fails_when_nothing_processes(cfg: Config, services: Services, web: WebServer) -> None:
    ctx = ctx_for(cfg, services, web_url=web.url, account_password="monitor password 123",
                  upload_timeout_seconds=1.0)
    result = probes.probe_upload(ctx)[0]
    assert result.status == "fail" and "after" in result.output
    account = services.store.users.get_by_email(cfg.monitor.account_email)
    assert account is not None
    assert services.store.courses.list_for_owner(account.id) == []


def test_upload_probe_with_a_wrong_password(cfg: Config, services: Services, web: WebServer) -> None:
    from studybuddy.accounts import create_user

    create_user(services.store, cfg.monitor.account_email, "the real password", is_admin=False)
    ctx = ctx_for(cfg, services, web_url=web.url, account_password="not the password")
    result = probes.probe_upload(ctx)[0]
    assert result.status == "fail" and "login" in result.output


def test_upload_probe_without_a_password_warns(cfg: Config, services: Services) -> None:
    assert probes.probe_upload(ctx_for(cfg, services))[0].status == "warn"


def test_ai_probe_is_rate_limited(cfg: Config, services: Services) -> None:
    ctx = ctx_for(cfg, services, ai_probe_interval_seconds=3600)
    first = probes.probe_ai(ctx)
    names = [r.component_id for r in first]
    assert "local" in names and all(r.status == "pass" for r in first if r.component_id == "local")
    at = ctx.state["ai"]["at"]
    again = probes.probe_ai(ctx)
    assert [r.key for r in again] == [r.key for r in first]
    assert ctx.state["ai"]["at"] == at  # not probed again within the hour


def test_units_probe_outside_systemd(cfg: Config, services: Services) -> None:
    if probes.under_systemd():
        skip_or_fail_in_ci("this host runs systemd as PID 1: the outside-systemd path cannot be tried")
    results = probes.probe_units(ctx_for(cfg, services))
    assert {r.component_id for r in results} == set(cfg.monitor.units)
    assert all(r.status == "warn" and "systemd" in r.output for r in results)


class _FakeOpenAI:
    """An in-process server speaking the chat completions API; answers well or with HTTP 500."""

    def __init__(self) -> None:
        import http.server
        import json as _json

        self.fail = False
        self.stall = threading.Event()
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization", ""),
                                       "body": _json.loads(body or b"{}")})
                if outer.stall.is_set():
                    time.sleep(5)
                if outer.fail:
                    payload = b'{"error": {"message": "boom", "type": "server_error"}}'
                    self.send_response(500)
                else:
                    payload = _json.dumps({
                        "id": "c1", "object": "chat.completion", "created": 0, "model": "m",
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": '{"ok": true}'}}],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
                    }).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_ai_probe_makes_a_real_call_and_never_shows_the_key(cfg: Config, services: Services) -> None:
    fake = _FakeOpenAI()
    try:
        cfg = cfg.replace(ai={"openai_api_key": "sk-test-secret-key-123", "openai_base_url": fake.url,
                              "max_retries": 0, "timeout_seconds": 5.0})
        ctx = HealthContext(cfg.replace(monitor={"ai_probe_interval_seconds": 0}), services)
        results = {r.key: r for r in probes.probe_ai(ctx)}
        assert results["ai:responseTime/openai"].status == "pass", results
        assert fake.requests and fake.requests[0]["path"].endswith("/chat/completions")
        assert fake.requests[0]["auth"] == "Bearer sk-test-secret-key-123"
        fake.fail = True
        ctx.clock = lambda: time.time() + 10
        failed = {r.key: r for r in probes.probe_ai(ctx)}["ai:responseTime/openai"]
        assert failed.status == "fail"
        assert "sk-test-secret-key-123" not in failed.output
    finally:
        fake.close()


def test_a_stalled_ai_provider_fails_its_check_while_the_loop_keeps_ticking(
        cfg: Config, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeOpenAI()
    fake.stall.set()
    monkeypatch.setattr(probes, "AI_PROBE_LIMIT_SECONDS", 1.5)
    ticks: list[float] = []
    try:
        cfg = cfg.replace(ai={"openai_api_key": "sk-test", "openai_base_url": fake.url, "max_retries": 0,
                              "timeout_seconds": 30.0})
        ctx = HealthContext(cfg, services, tick=lambda: ticks.append(time.monotonic()))
        started = time.monotonic()
        result = {r.key: r for r in probes.probe_ai(ctx)}["ai:responseTime/openai"]
        assert result.status == "fail" and "no answer within" in result.output
        assert time.monotonic() - started < 4
        assert len(ticks) >= 3
    finally:
        fake.close()

