"""Prometheus metrics: scraped over HTTP after real requests and real jobs, the counters moved;
the monitor's view of the installation; the Grafana dashboard names only exported metrics."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from studybuddy.config import Config
from studybuddy.metrics import serve_metrics
from studybuddy.metrics.cluster import ClusterCollector
from studybuddy.metrics.jobs import daily_key, local_day
from studybuddy.services import Services
from studybuddy.store.models import User
from studybuddy.worker.consumer import Worker
from tests.conftest import csrf_token, login
from tests.monitor.helpers import free_port
from tests.study.conftest import add_course, wait_job
from tests.study.study_material import ENGLISH

TOP = Path(__file__).resolve().parents[1]
DASHBOARD = TOP / "packaging/docs/grafana-dashboard.json"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(url: str, token: str = "") -> Samples:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return parse(response.read().decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def worker(services: Services) -> Iterator[Worker]:
    running = Worker(services, run_reaper=False)
    running.start()
    assert running.wait_ready(20)
    yield running
    running.stop(10)


def test_counters_move_after_real_requests_and_jobs(cfg: Config, services: Services, users: dict[str, User],
                                                    worker: Worker) -> None:
    from studybuddy.web import create_app

    port = serve_metrics(cfg.replace(metrics={"web_port": free_port()}), "web", "9.9.9")
    assert port
    url = f"http://127.0.0.1:{port}/metrics"
    before = scrape(url)

    client = create_app(cfg, services).test_client()
    login(client, users["alice"].email)
    course, _ = add_course(services, users["alice"], ENGLISH)
    response = client.post(f"/courses/{course.id}/tools/summary",
                           data={"length": "short", "style": "bullets", "language": "en",
                                 "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)
    job = wait_job(services, response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    assert job.state == "succeeded", job.error_internal
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        after = scrape(url)
        if value(after, "studybuddy_jobs_processed_total", type="summary", outcome="succeeded") > \
                value(before, "studybuddy_jobs_processed_total", type="summary", outcome="succeeded"):
            break
        time.sleep(0.05)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("studybuddy_jobs_processed_total", type="summary", outcome="succeeded") == 1
    assert moved("studybuddy_job_duration_seconds_count", type="summary") == 1
    assert moved("studybuddy_job_queue_wait_seconds_count", type="summary") == 1
    assert moved("studybuddy_ai_calls_total", provider="local", tool="summary", outcome="ok") >= 1
    assert moved("studybuddy_ai_call_duration_seconds_count", provider="local") >= 1
    assert value(after, "studybuddy_ai_circuit_state", provider="local", state="closed") == 1
    tool_route = "/courses/<course_id>/tools/<tool>"
    assert moved("studybuddy_http_requests_total", route=tool_route, method="POST", status="302") == 1
    assert moved("studybuddy_http_request_duration_seconds_count", route=tool_route, method="POST") == 1
    assert moved("studybuddy_http_requests_total", route="/login", method="POST", status="302") == 1
    assert value(after, "studybuddy_build_info", version="9.9.9", role="web") == 1
    # No label carries an id from a URL: routes are patterns.
    assert not any(course.id in dict(labels).get("route", "") for _, labels in after)
    # The day's count the daily report reads.
    day = local_day(job.finished_at or 0, cfg.app.timezone)
    assert services.store.counters.get(daily_key(day, "summary", "succeeded")) == 1


def test_the_web_port_serves_metrics_only_with_the_monitor_token(cfg: Config, services: Services) -> None:
    from studybuddy.web import create_app

    services.config = cfg.replace(monitor={"token": "the-monitor-token"})
    client = create_app(services.config, services).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer the-monitor-token"})
    assert response.status_code == 200
    assert "studybuddy_http_requests_total" in response.get_data(as_text=True)
    # Without a token configured, nobody gets them there.
    services.config = cfg
    bare = create_app(cfg, services).test_client()
    assert bare.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def test_a_taken_metrics_port_costs_the_metrics_not_the_service(cfg: Config,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    assert serve_metrics(cfg.replace(metrics={"worker_port": port}), "worker", "9.9.9") == port
    assert serve_metrics(cfg.replace(metrics={"worker_port": port}), "worker", "9.9.9") == 0
    assert "choose another metrics.worker_port" in caplog.text
    assert serve_metrics(cfg.replace(metrics={"monitor_port": 0}), "monitor", "9.9.9") == 0


def test_the_monitor_exports_the_installation(services: Services) -> None:
    from studybuddy.jobs.service import submit_job

    submit_job(services, "ping", "monitor", params={"queue": "summarize"})
    services.store.monitor.set_state("latest", {
        "web:responseTime": {"name": "web:responseTime", "status": "fail", "time": "2026-11-30T08:00:00+00:00"},
        "store:responseTime": {"name": "store:responseTime", "status": "pass", "time": "2026-11-30T08:00:00+00:00"},
        "disk:free": {"name": "disk:free", "status": "warn", "time": "2026-11-30T08:00:00+00:00"},
    })
    # Two failing checks of one cause are one incident.
    services.store.monitor.set_state("policy", {"checks": {
        "web:responseTime": {"state": "failing", "strikes": 3},
        "web:ready": {"state": "failing", "strikes": 3},
        "store:responseTime": {"state": "ok", "strikes": 0},
    }, "incidents": {"unit:web": {"cause": "unit:web", "label": "web", "state": "failing", "since": 1.0}}})
    registry = CollectorRegistry()
    registry.register(ClusterCollector(services))
    samples = parse(generate_latest(registry).decode())
    assert value(samples, "studybuddy_check_status", check="web:responseTime") == 2
    assert value(samples, "studybuddy_check_status", check="disk:free") == 1
    assert ("studybuddy_check_status", frozenset({("check", "store:responseTime")})) in samples
    assert value(samples, "studybuddy_check_timestamp_seconds", check="disk:free") == 1796025600.0
    assert value(samples, "studybuddy_incidents_open", state="failing") == 1
    assert value(samples, "studybuddy_incidents_open", state="escalated") == 0
    assert value(samples, "studybuddy_broker_up") == 1
    assert value(samples, "studybuddy_queue_messages", queue="summarize") == 1
    assert value(samples, "studybuddy_jobs", state="queued") == 1

    services.broker.url = "amqp://nobody:nothing@127.0.0.1:1//"
    services.broker.config = services.config.broker.__class__(url=services.broker.url, connect_timeout=0.5)
    down = parse(generate_latest(registry).decode())
    assert value(down, "studybuddy_broker_up") == 0
    assert value(down, "studybuddy_jobs", state="queued") == 1


# -- the Grafana dashboard ----------------------------------------------------------------------

PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "rate", "irate", "increase", "histogram_quantile", "time", "vector",
    "scalar", "clamp_min", "clamp_max", "topk", "bottomk", "abs", "delta", "deriv", "max_over_time",
    "min_over_time", "avg_over_time", "label_replace", "sort", "sort_desc",
}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers, ranges and groupings removed)."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    tokens = set(re.findall(r"(?<![\w:.])[a-zA-Z_:][\w:]*", expr))
    return tokens - PROMQL_WORDS


def sample_names(registry: Any) -> set[str]:
    """Every sample name the registry's metrics can export, observed or not."""
    suffixes = {"counter": ["_total", "_created"], "histogram": ["_bucket", "_count", "_sum", "_created"],
                "gauge": [""], "info": ["_info"], "summary": ["_count", "_sum", "_created"]}
    names = set()
    for family in registry.collect():
        names.update(family.name + suffix for suffix in suffixes.get(family.type, [""]))
        names.update(sample.name for sample in family.samples)
    return names


def test_the_dashboard_names_only_exported_metrics(services: Services) -> None:
    from studybuddy.metrics.ai import measure_router

    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    measure_router(services.ai)
    cluster = CollectorRegistry()
    cluster.register(ClusterCollector(services))
    exported = sample_names(REGISTRY) | sample_names(cluster)

    used: set[str] = set()
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            used |= metric_names(target["expr"])
    assert used, "the dashboard reads no metrics"
    assert used <= exported, f"not exported by StudyBuddy: {sorted(used - exported)}"
    # Every area the operations guide promises has a panel.
    for name in ("studybuddy_http_requests_total", "studybuddy_http_request_duration_seconds_bucket",
                 "studybuddy_jobs_processed_total", "studybuddy_job_duration_seconds_bucket",
                 "studybuddy_job_queue_wait_seconds_bucket", "studybuddy_queue_messages",
                 "studybuddy_queue_consumers", "studybuddy_check_status", "studybuddy_incidents_open",
                 "studybuddy_ai_calls_total", "studybuddy_ai_circuit_state"):
        assert name in used, name


def test_the_dashboard_check_catches_an_unknown_name() -> None:
    assert metric_names('sum by (le) (rate(studybuddy_nope_bucket{x="a"}[5m])) / time()') == \
        {"studybuddy_nope_bucket"}
