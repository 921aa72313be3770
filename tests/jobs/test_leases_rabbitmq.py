"""Leases and dispatch on the real RabbitMQ: what one worker holds, redelivery of a dead worker's
job, re-publishing of held or lost messages, the broker's return, AMQP heartbeats during a job."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Iterator

import pytest

from studybuddy.config import QUEUE_NAMES, Config
from studybuddy.jobs import submit_job
from studybuddy.services import Services
from studybuddy.store.models import Job, new_id
from studybuddy.worker.consumer import Worker
from studybuddy.worker.runner import JobContext

from ..helpers.rabbit import rabbit_config, wait_for
from ..helpers.tcpproxy import TcpProxy

pytestmark = pytest.mark.rabbitmq


@pytest.fixture
def rabbit_cfg(tmp_path: Path, rabbit_url: str) -> Iterator[Config]:
    with rabbit_config(tmp_path, rabbit_url, label="lease") as cfg:
        yield cfg


def _state(services: Services, job_id: str) -> str:
    job = services.store.jobs.get(job_id)
    return job.state if job else "missing"


def _ping(ctx: JobContext) -> str:
    return f"pong:{ctx.job.attempts}"


@contextmanager
def _released(event: threading.Event) -> Iterator[None]:
    """Sets the event on the way out, so a blocked handler lets its worker stop."""
    try:
        yield
    finally:
        event.set()


@contextmanager
def _running_worker(cfg: Config, handler: Any = _ping, **options: Any) -> Iterator[tuple[Services, Worker]]:
    """Services and one started, consuming worker with `handler` for ping jobs; both closed after."""
    services = Services(cfg)
    worker = Worker(services, handlers={"ping": handler}, **options)
    worker.start()
    try:
        assert worker.wait_ready(20)
        yield services, worker
    finally:
        worker.stop(10)
        services.close()


def test_a_busy_worker_holds_one_message_per_consumer_thread_across_all_queues(rabbit_cfg: Config) -> None:
    release = threading.Event()

    def blocking(ctx: JobContext) -> str:
        release.wait(30)
        return "done"

    with _running_worker(rabbit_cfg, blocking, concurrency=1, run_reaper=False) as (services, _), \
            _released(release):
        jobs = [submit_job(services, "ping", "alice", params={"queue": q}) for q in QUEUE_NAMES]
        wait_for(lambda: any(_state(services, j.id) == "running" for j in jobs), what="a job to start")
        time.sleep(1.0)  # a per-queue prefetch would have delivered one message on every queue by now
        waiting = sum(n for n, _ in services.broker.queue_stats().values())
        assert waiting == len(QUEUE_NAMES) - 1, "one worker thread must hold one message, not one per queue"
        assert sum(_state(services, j.id) == "running" for j in jobs) == 1


def test_a_redelivered_job_whose_lease_expired_is_taken_at_once(rabbit_cfg: Config) -> None:
    """A worker died holding the job; its message comes back: the job runs now, not after the reaper."""
    with _running_worker(rabbit_cfg, run_reaper=False) as (services, _):
        # A killed worker's job: running, its lease just expired.
        job = services.store.jobs.add(Job(id=new_id(), type="ping", queue="homework", owner_id="alice"))
        assert services.store.jobs.claim(job.id, "dead-worker", 0.5, time.time())
        time.sleep(0.6)
        services.broker.publish(job.id, "homework")  # RabbitMQ's redelivery
        wait_for(lambda: _state(services, job.id) == "succeeded", timeout=5, what="the re-claim")
        done = services.store.jobs.get(job.id)
        assert done.attempts == 2 and done.result_ref == "pong:2"


def test_a_delivery_for_a_job_held_under_a_valid_lease_takes_it_when_the_lease_runs_out(
        rabbit_cfg: Config) -> None:
    cfg = rabbit_cfg.replace(worker={"reaper_interval_seconds": 60, "dispatch_grace_seconds": 600})
    with _running_worker(cfg) as (services, _):
        time.sleep(0.5)  # the reaper's first pass is behind us; the next is a minute away
        job = services.store.jobs.add(Job(id=new_id(), type="ping", queue="assess", owner_id="alice"))
        claimed_at = time.time()
        assert services.store.jobs.claim(job.id, "dead-worker", 2, claimed_at)
        services.broker.publish(job.id, "assess")  # delivered while the dead worker's lease holds
        wait_for(lambda: _state(services, job.id) == "succeeded", timeout=10, what="the takeover")
        assert services.store.jobs.get(job.id).result_ref == "pong:2"
        assert time.time() - claimed_at < 6, "taken over when the lease ran out, not at the next reaper round"


def test_a_queued_job_whose_message_is_gone_is_published_again_after_the_grace(rabbit_cfg: Config) -> None:
    cfg = rabbit_cfg.replace(worker={"reaper_interval_seconds": 0.2, "dispatch_grace_seconds": 1})
    with _running_worker(cfg) as (services, _):
        job = services.store.jobs.add(Job(id=new_id(), type="ping", queue="flashcards", owner_id="alice"))
        services.store.jobs.mark_dispatched(job.id, time.time())  # "published", but held or lost
        started = time.time()
        wait_for(lambda: _state(services, job.id) == "succeeded", timeout=10, what="the re-publish")
        assert time.time() - started < 5


def test_jobs_submitted_while_the_broker_was_away_start_within_seconds_of_its_return(rabbit_cfg: Config) -> None:
    proxy = TcpProxy("127.0.0.1", 5672)
    proxy.up()
    cfg = rabbit_cfg.replace(broker={"url": f"amqp://guest:guest@127.0.0.1:{proxy.port}//", "connect_timeout": 1.0},
                             worker={"reaper_interval_seconds": 60})
    try:
        with _running_worker(cfg) as (services, _):
            proxy.down()
            jobs = [submit_job(services, "ping", "alice", params={"queue": q}) for q in QUEUE_NAMES]
            assert all(services.store.jobs.get(j.id).dispatched_at is None for j in jobs)
            time.sleep(2)
            proxy.up()
            back = time.time()
            for job in jobs:
                wait_for(lambda j=job: _state(services, j.id) == "succeeded", timeout=20,
                         what="jobs after the outage")
            assert time.time() - back < 10, "not at the next reaper round a minute later"
    finally:
        proxy.down()


def test_amqp_heartbeats_flow_while_a_long_job_runs(rabbit_cfg: Config, caplog: pytest.LogCaptureFixture) -> None:
    """Heartbeats every second; a job of 5 s would lose a connection that nobody drives."""
    cfg = rabbit_cfg.replace(worker={"amqp_heartbeat_seconds": 1})

    def long(ctx: JobContext) -> str:
        time.sleep(5)
        return "done"

    with _running_worker(cfg, long, run_reaper=False) as (services, worker):
        assert worker.consumers[0].connection.heartbeat == 1
        with caplog.at_level(logging.WARNING):
            job = submit_job(services, "ping", "alice", params={"queue": "avner_chat"})
            wait_for(lambda: _state(services, job.id) == "succeeded", timeout=20, what="the long job")
            wait_for(lambda: services.broker.queue_stats()["avner_chat"][0] == 0, what="the queue to be empty")
            time.sleep(1)
        assert "connection lost" not in caplog.text and "could not settle" not in caplog.text, caplog.text
        assert services.store.jobs.get(job.id).attempts == 1

