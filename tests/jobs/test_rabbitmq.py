"""Durable jobs against the real RabbitMQ on 127.0.0.1:5672 (a unique queue prefix per test)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from kombu import Connection
from prometheus_client import REGISTRY

from studybuddy.config import QUEUE_NAMES, Config
from studybuddy.jobs import submit_job
from studybuddy.jobs.broker import make_exchange
from studybuddy.jobs.reaper import reap_once
from studybuddy.jobs.service import dispatch
from studybuddy.services import Services
from studybuddy.store.models import Job, new_id
from studybuddy.worker.consumer import Worker
from studybuddy.worker.handlers import default_handlers

from ..helpers.rabbit import rabbit_config, wait_for
from ..helpers.tcpproxy import TcpProxy
from .handlers import TEST_HANDLERS, log_lines

pytestmark = pytest.mark.rabbitmq
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rabbit_cfg(tmp_path: Path, rabbit_url: str) -> Iterator[Config]:
    with rabbit_config(tmp_path, rabbit_url) as cfg:
        yield cfg


def add_job(services: Services, job_type: str, queue: str, owner: str = "alice", **params: Any) -> Job:
    """A job of a test-only type, written and published the way submit_job does it."""
    job = Job(id=new_id(), type=job_type, queue=queue, owner_id=owner, params=params,
              max_attempts=services.config.worker.max_attempts)
    services.store.jobs.add(job)
    dispatch(services, job)
    return job


def state_of(services: Services, job_id: str) -> str:
    job = services.store.jobs.get(job_id)
    return job.state if job else "missing"


def start_worker(services: Services, **kw: Any) -> Worker:
    worker = Worker(services, handlers={**default_handlers(), **TEST_HANDLERS}, **kw)
    worker.start()
    assert worker.wait_ready(20), "worker did not start consuming"
    return worker


def test_ping_goes_through_every_queue(rabbit_cfg: Config) -> None:
    services = Services(rabbit_cfg)
    worker = start_worker(services)
    try:
        jobs = [submit_job(services, "ping", "monitor", params={"queue": q}) for q in QUEUE_NAMES]
        for job in jobs:
            wait_for(lambda j=job: state_of(services, j.id) == "succeeded", what=f"ping on {job.queue}")
        assert {services.store.jobs.get(j.id).result_ref.split(":")[1] for j in jobs} == set(QUEUE_NAMES)
    finally:
        worker.stop(10)
        services.close()


def test_threads_publishing_at_once_each_on_their_own_connection_lose_nothing(rabbit_cfg: Config) -> None:
    services = Services(rabbit_cfg)
    broker = services.broker
    sent, finish = threading.Barrier(9), threading.Event()
    try:
        def send(n: int) -> None:
            for i in range(5):
                broker.publish(f"job-{n}-{i}", "summarize")
            sent.wait(30)
            finish.wait(30)

        threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        sent.wait(30)
        assert broker.open_connections() == 8
        finish.set()
        for thread in threads:
            thread.join(30)
        # Each went with its thread.
        wait_for(lambda: broker.open_connections() == 0, timeout=10, what="the threads' connections released")
        wait_for(lambda: broker.queue_stats()["summarize"][0] == 40, timeout=10, what="40 messages in the queue")
        broker.publish("this-thread", "summarize")
        assert broker.open_connections() == 1
        broker.close()
        assert broker.open_connections() == 0
        broker.publish("after-close", "summarize")  # a new connection for this thread
        wait_for(lambda: broker.queue_stats()["summarize"][0] == 42, timeout=10, what="the messages after close")
    finally:
        services.close()


def test_a_job_submitted_while_the_broker_is_down_runs_once_it_is_back(rabbit_cfg: Config, tmp_path: Path) -> None:
    proxy = TcpProxy("127.0.0.1", 5672)
    proxy.up()
    url = f"amqp://guest:guest@127.0.0.1:{proxy.port}//"
    cfg = rabbit_cfg.replace(broker={"url": url})
    services = Services(cfg)
    worker = start_worker(services, run_reaper=False)
    try:
        proxy.down()
        job = submit_job(services, "ping", "alice", params={"queue": "summarize"})
        stored = services.store.jobs.get(job.id)
        assert stored.state == "queued" and stored.dispatched_at is None, "publish should have failed"
        assert reap_once(services) == 0  # still down: nothing dispatched, nothing lost
        assert services.store.jobs.get(job.id).dispatched_at is None
        proxy.up()
        wait_for(lambda: reap_once(services) > 0, timeout=20, what="the reaper to dispatch")
        wait_for(lambda: state_of(services, job.id) == "succeeded", timeout=60,
                 what="the job to complete after the broker came back")
        assert services.store.jobs.get(job.id).attempts == 1
    finally:
        worker.stop(10)
        services.close()
        proxy.down()


def _write_config(cfg: Config, path: Path) -> Path:
    data = {
        "app": {"state_dir": cfg.app.state_dir},
        "web": {"secret_key": "test"},
        "broker": {"url": cfg.broker.url, "queue_prefix": cfg.broker.queue_prefix},
        "worker": {"concurrency": 1, "lease_seconds": 2, "lease_renew_seconds": 0.5, "reaper_interval_seconds": 0.5,
                   "retry_backoff_seconds": 0.2, "amqp_heartbeat_seconds": 2,
                   "job_timeout_seconds": 60},
    }
    path.write_text(yaml.safe_dump(data))
    return path


def _spawn_worker(config_path: Path, log_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tests.jobs.worker_proc", str(config_path)],
                            cwd=ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)


def test_a_sigkilled_worker_loses_nothing_and_the_job_completes_exactly_once(
    rabbit_cfg: Config, tmp_path: Path
) -> None:
    config_path = _write_config(rabbit_cfg, tmp_path / "worker.yaml")
    services = Services(rabbit_cfg)
    log = tmp_path / "runs.log"
    first = _spawn_worker(config_path, tmp_path / "worker1.out")
    second = None
    try:
        job = add_job(services, "record", "file_processing", log=str(log), sleep=4)
        wait_for(lambda: any(line.startswith("start") for line in log_lines(log)), timeout=30,
                 what="the first worker to start the job")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert state_of(services, job.id) == "running"
        # The broker gives the unacked message back; once the lease has run out the reaper
        # requeues the job and publishes it again. Its pass runs here, before the second worker
        # starts, so the order is fixed: the redelivery runs the job, the reaper's message is the
        # duplicate and comes after it.
        wait_for(lambda: services.store.jobs.get(job.id).lease_expires_at < time.time(), timeout=10,
                 what="the dead worker's lease to run out")
        reap_once(services)
        requeued = services.store.jobs.get(job.id)
        assert requeued.state == "queued" and requeued.dispatched_at is not None
        second = _spawn_worker(config_path, tmp_path / "worker2.out")
        wait_for(lambda: state_of(services, job.id) == "succeeded", timeout=60,
                 what="the job to complete on the second worker")
        # One consumer takes the queue in order: once a job published after both messages has
        # run, the duplicate has been delivered and turned away.
        last = add_job(services, "record", "file_processing", log=str(tmp_path / "last.log"))
        wait_for(lambda: state_of(services, last.id) == "succeeded", timeout=30,
                 what="a job queued behind the duplicate")
        lines = log_lines(log)
        assert [line.split()[0] for line in lines] == ["start", "start", "done"], lines
        assert services.store.jobs.get(job.id).attempts == 2
    finally:
        for proc in (first, second):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)
        services.close()
    assert second is not None and second.returncode == 0, "SIGTERM must stop the worker cleanly"


def skipped_deliveries(job_type: str, outcome: str = "skipped") -> float:
    """Deliveries of `job_type` the in-process worker found nothing to do for (its own figure):
    "skipped" for a finished job, "held" for one another consumer runs under a live lease."""
    value = REGISTRY.get_sample_value("studybuddy_jobs_processed_total", {"type": job_type, "outcome": outcome})
    return value or 0.0


def test_the_same_message_twice_runs_the_job_once(rabbit_cfg: Config, tmp_path: Path) -> None:
    """Two duplicates, each at a moment the test chooses: one while the job runs (the other
    consumer is free to take it; it waits out the lease, finds it renewed and lets go), one after
    it succeeded."""
    services = Services(rabbit_cfg.replace(worker={"lease_seconds": 2, "lease_renew_seconds": 0.5}))
    log, gate = tmp_path / "runs.log", tmp_path / "gate"
    worker = start_worker(services, concurrency=2)
    skipped, held = skipped_deliveries("record"), skipped_deliveries("record", "held")
    try:
        job = add_job(services, "record", "assess", log=str(log), gate=str(gate))
        wait_for(lambda: log_lines(log), what="the first delivery to start the job")
        services.broker.publish(job.id, "assess")  # the duplicate while the job runs
        wait_for(lambda: skipped_deliveries("record", "held") == held + 1, what="the duplicate to be let go")
        assert [line.split()[0] for line in log_lines(log)] == ["start"]
        assert state_of(services, job.id) == "running"
        gate.touch()
        wait_for(lambda: state_of(services, job.id) == "succeeded", what="the job")
        services.broker.publish(job.id, "assess")  # the duplicate after it finished
        wait_for(lambda: skipped_deliveries("record") == skipped + 1, what="the late duplicate to be turned away")
        assert [line.split()[0] for line in log_lines(log)] == ["start", "done"]
        assert services.store.jobs.get(job.id).attempts == 1
    finally:
        gate.touch()
        worker.stop(10)
        services.close()


def test_transient_errors_retry_and_permanent_errors_fail_at_once(rabbit_cfg: Config, tmp_path: Path) -> None:
    services = Services(rabbit_cfg)
    log = tmp_path / "runs.log"
    worker = start_worker(services)
    try:
        flaky = add_job(services, "flaky", "homework", log=str(log), succeed_on=2)
        bad = add_job(services, "bad_input", "file_processing", log=str(log))
        wait_for(lambda: state_of(services, flaky.id) == "succeeded", what="the flaky job to succeed")
        wait_for(lambda: state_of(services, bad.id) == "failed", what="the bad job to fail")
        done = services.store.jobs.get(flaky.id)
        assert done.attempts == 2 and done.result_ref == "ok-after-retry"
        failed = services.store.jobs.get(bad.id)
        assert failed.attempts == 1
        assert failed.error_user == "This file is not a PDF."
        assert failed.error_internal == "magic bytes mismatch"
        starts = [line for line in log_lines(log) if line.startswith("start") and bad.id in line]
        assert len(starts) == 1, "a permanent error must not be retried"
    finally:
        worker.stop(10)
        services.close()


def test_a_job_that_keeps_failing_ends_dead(rabbit_cfg: Config, tmp_path: Path) -> None:
    cfg = rabbit_cfg.replace(worker={"max_attempts": 2})
    services = Services(cfg)
    log = tmp_path / "runs.log"
    worker = start_worker(services)
    try:
        job = add_job(services, "flaky", "flashcards", log=str(log), succeed_on=99)
        wait_for(lambda: state_of(services, job.id) == "dead", what="the job to die")
        dead = services.store.jobs.get(job.id)
        assert dead.attempts == 2 and dead.error_user and "TransientError" in dead.error_internal
    finally:
        worker.stop(10)
        services.close()


def test_bad_messages_are_dropped_and_the_worker_goes_on(rabbit_cfg: Config, tmp_path: Path) -> None:
    services = Services(rabbit_cfg)
    worker = start_worker(services)
    try:
        with Connection(rabbit_cfg.broker.url) as conn:
            producer = conn.Producer()
            exchange = make_exchange(rabbit_cfg.broker.queue_prefix)
            producer.publish(b"\x80\x04not json", exchange=exchange, routing_key="summarize",
                             content_type="application/x-python-serialize", content_encoding="binary")
            producer.publish({"nothing": 1}, exchange=exchange, routing_key="summarize", serializer="json")
            producer.publish({"job_id": "does-not-exist"}, exchange=exchange, routing_key="summarize",
                             serializer="json")
        unknown = add_job(services, "no_such_type", "summarize")
        wait_for(lambda: state_of(services, unknown.id) == "failed", what="the unknown type to fail")
        assert "not supported" in services.store.jobs.get(unknown.id).error_user
        ping = submit_job(services, "ping", "alice", params={"queue": "summarize"})
        wait_for(lambda: state_of(services, ping.id) == "succeeded", what="a good job after the bad ones")
        wait_for(lambda: services.broker.queue_stats()["summarize"][0] == 0, what="the queue to drain")
    finally:
        worker.stop(10)
        services.close()
