"""/health/live, /health/ready and /health/detailed (application/health+json), and the health module."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from studybuddy.config import QUEUE_NAMES, Config
from studybuddy.health import CHECKS, CheckResult, HealthContext, health_json, overall_status, run_checks
from studybuddy.services import Services
from tests.conftest import make_config
from tests.helpers.rabbit import rabbit_config

HEALTH_JSON = "application/health+json"


def _assert_health_shape(body: dict[str, Any]) -> None:
    assert body["status"] in ("pass", "warn", "fail")
    assert isinstance(body["checks"], dict) and body["checks"]
    for key, entries in body["checks"].items():
        component, _, measurement = key.partition(":")
        assert component and measurement, key
        assert isinstance(entries, list) and entries
        for entry in entries:
            assert entry["status"] in ("pass", "warn", "fail")
            dt.datetime.fromisoformat(entry["time"])
            assert set(entry) <= {"status", "time", "observedValue", "observedUnit", "output", "componentId"}


def test_live_needs_nothing(client: Any) -> None:
    r = client.get("/health/live")
    assert r.status_code == 200
    assert r.mimetype == HEALTH_JSON
    assert r.get_json(force=True)["status"] == "pass"


@pytest.mark.rabbitmq
def test_ready_when_store_and_the_real_broker_answer(tmp_path: Path, rabbit_url: str) -> None:
    """On the real RabbitMQ, not memory:// (which always answers)."""
    from studybuddy.web import create_app

    with rabbit_config(tmp_path, rabbit_url, "ready") as cfg:
        services = Services(cfg)
        try:
            r = create_app(cfg, services).test_client().get("/health/ready")
            assert r.status_code == 200 and r.mimetype == HEALTH_JSON
            body = r.get_json(force=True)
            assert body["status"] == "pass"
            assert set(body["checks"]) == {"store:responseTime", "broker:connection", "disk:free"}
            assert body["checks"]["broker:connection"][0]["status"] == "pass"
        finally:
            services.close()


def test_ready_fails_below_the_free_space_floor(tmp_path: Path) -> None:
    from studybuddy.web import create_app

    free_mb = shutil.disk_usage(tmp_path).free // (1024 * 1024)
    for floor, status in ((0, 200), (1, 200), (free_mb + 10_000, 503)):
        cfg = make_config(tmp_path, web={"secret_key": "k" * 32, "min_free_mb": floor})
        services = Services(cfg)
        try:
            r = create_app(cfg, services).test_client().get("/health/ready")
            disk = r.get_json(force=True)["checks"]["disk:free"][0]
            assert r.status_code == status, disk
            assert disk["observedUnit"] == "MiB" and abs(disk["observedValue"] - free_mb) < 500
            if status == 503:
                assert disk["status"] == "fail" and f"at least {floor} MiB" in disk["output"]
        finally:
            services.close()


def test_ready_is_503_without_the_broker_and_leaks_nothing(tmp_path: Path) -> None:
    from studybuddy.web import create_app

    cfg = make_config(tmp_path, broker={"url": "amqp://sbuser:supersecretpw@127.0.0.1:1//",
                                        "connect_timeout": 0.5})
    services = Services(cfg)
    try:
        app = create_app(cfg, services)
        client = app.test_client()
        r = client.get("/health/ready")
        assert r.status_code == 503
        body = r.get_json(force=True)
        assert body["status"] == "fail"
        assert body["checks"]["broker:connection"][0]["status"] == "fail"
        assert body["checks"]["store:responseTime"][0]["status"] == "pass"
        text = r.get_data(as_text=True)
        assert "supersecretpw" not in text and "sbuser" not in text and "Traceback" not in text
        r = client.get("/health/detailed", headers={"Authorization": "Bearer " + "x" * 8})
        assert r.status_code == 401
    finally:
        services.close()


def test_detailed_is_for_admins_only(client: Any, users: Any, login_as: Any) -> None:
    r = client.get("/health/detailed")
    assert r.status_code == 401
    assert "observedValue" not in r.get_data(as_text=True)
    login_as("bob")
    assert client.get("/health/detailed").status_code == 404
    client.post("/logout", headers={"X-CSRF-Token": _csrf(client)})
    login_as("charlie")
    r = client.get("/health/detailed")
    assert r.status_code == 200 and r.mimetype == HEALTH_JSON
    body = r.get_json(force=True)
    _assert_health_shape(body)
    depth = body["checks"]["broker:queueDepth"]
    assert sorted(e["componentId"] for e in depth) == sorted(QUEUE_NAMES)
    assert body["checks"]["disk:free"][0]["observedUnit"] == "MiB"
    assert "web:responseTime" not in body["checks"]  # monitor-only probes are not run by the web


def _csrf(client: Any) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client)


def test_detailed_with_the_monitor_token(tmp_path: Path) -> None:
    from studybuddy.web import create_app

    cfg = make_config(tmp_path, monitor={"token": "monitor-token-123456"})
    services = Services(cfg)
    try:
        client = create_app(cfg, services).test_client()
        assert client.get("/health/detailed", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/health/detailed", headers={"Authorization": "Bearer "}).status_code == 401
        r = client.get("/health/detailed", headers={"Authorization": "Bearer monitor-token-123456"})
        assert r.status_code == 200
        _assert_health_shape(r.get_json(force=True))
        assert "monitor-token-123456" not in r.get_data(as_text=True)
        assert "test-secret-key" not in r.get_data(as_text=True)
        r = client.get("/health/detailed", headers={"X-Monitor-Token": "monitor-token-123456"})
        assert r.status_code == 200
    finally:
        services.close()


def test_no_token_configured_means_no_token_access(client: Any, cfg: Config) -> None:
    assert cfg.monitor.token == ""
    assert client.get("/health/detailed", headers={"Authorization": "Bearer "}).status_code == 401


def test_disk_check_warns_and_fails_by_threshold(cfg: Config, services: Services) -> None:
    huge = cfg.replace(monitor={"disk_free_warn_mb": 10**9})
    result = CHECKS["disk"].fn(HealthContext(huge, services))[0]
    assert result.status == "fail" and result.observed_unit == "MiB"
    small = cfg.replace(monitor={"disk_free_warn_mb": 1})
    assert CHECKS["disk"].fn(HealthContext(small, services))[0].status == "pass"


def test_queue_depth_warns_past_the_threshold(cfg: Config, services: Services) -> None:
    for _ in range(3):
        services.broker.publish("not-a-job", "homework")
    ctx = HealthContext(cfg.replace(monitor={"queue_depth_warn": 2}), services)
    results = {r.key: r for r in CHECKS["broker"].fn(ctx)}
    assert results["broker:queueDepth/homework"].status == "warn"
    assert results["broker:queueDepth/homework"].observed_value == 3
    assert results["broker:queueDepth/summarize"].status == "pass"


def test_a_crashing_check_is_a_failed_result(cfg: Config, services: Services,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(ctx: HealthContext) -> list[CheckResult]:
        raise RuntimeError("password=hunter2 in a message")

    monkeypatch.setitem(CHECKS, "store", CHECKS["store"].__class__("store", boom))
    results = run_checks(HealthContext(cfg, services), ["store"])
    assert results[0].status == "fail" and results[0].name == "store:check"
    assert "hunter2" not in json.dumps(health_json(results))


def test_overall_status_is_the_worst() -> None:
    assert overall_status([CheckResult("a:b", "pass"), CheckResult("a:c", "warn")]) == "warn"
    assert overall_status([CheckResult("a:b", "pass"), CheckResult("a:c", "fail")]) == "fail"
    assert overall_status([]) == "pass"


def test_detailed_includes_the_monitors_last_rounds(cfg: Config, services: Services, client: Any,
                                                     users: Any, login_as: Any) -> None:
    from studybuddy.monitor.service import Monitor

    Monitor(services, checks=["web", "version"]).run_round()  # nothing serves monitor.web_url here
    login_as("charlie")
    body = client.get("/health/detailed").get_json(force=True)
    _assert_health_shape(body)
    assert body["checks"]["web:responseTime"][0]["status"] == "fail"
    assert body["status"] == "fail"
