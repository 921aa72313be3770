"""The reaper's re-publishing of jobs still queued after the dispatch grace (in-process broker)."""

from __future__ import annotations

import time

from studybuddy.jobs.reaper import Reaper, reap_once
from studybuddy.services import Services
from studybuddy.store.models import Job, new_id


def _stale_job(services: Services, queue: str, dispatched_ago: float) -> Job:
    job = services.store.jobs.add(Job(id=new_id(), type="ping", queue=queue, owner_id="alice"))
    services.store.jobs.mark_dispatched(job.id, time.time() - dispatched_ago)
    return job


def test_a_job_still_queued_after_the_grace_is_published_again(services: Services) -> None:
    grace = services.config.worker.dispatch_grace_seconds
    fresh = _stale_job(services, "homework", dispatched_ago=grace / 2)
    stale = _stale_job(services, "assess", dispatched_ago=grace + 1)
    assert reap_once(services) == 1
    assert services.broker.queue_stats()["assess"][0] == 1
    assert services.broker.queue_stats()["homework"][0] == 0
    assert services.store.jobs.get(stale.id).dispatched_at > time.time() - 5
    assert services.store.jobs.get(fresh.id).dispatched_at < time.time() - grace / 4


def test_behind_a_backlog_a_queued_job_is_not_published_again(services: Services) -> None:
    grace = services.config.worker.dispatch_grace_seconds
    services.broker.publish("some-other-job", "summarize")  # a message waiting in line
    stale = _stale_job(services, "summarize", dispatched_ago=grace + 1)
    before = services.store.jobs.get(stale.id).dispatched_at
    assert reap_once(services) == 0
    assert services.store.jobs.get(stale.id).dispatched_at == before
    assert services.broker.queue_stats()["summarize"][0] == 1


def test_a_woken_reaper_runs_a_pass_at_once(services: Services) -> None:
    services.config = services.config.replace(worker={"reaper_interval_seconds": 60})
    reaper = Reaper(services)
    reaper.start()
    try:
        time.sleep(0.3)  # first pass done; the next is a minute away
        job = services.store.jobs.add(Job(id=new_id(), type="ping", queue="flashcards", owner_id="alice"))
        reaper.wake()
        deadline = time.monotonic() + 5
        while services.store.jobs.get(job.id).dispatched_at is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert services.store.jobs.get(job.id).dispatched_at is not None
    finally:
        reaper.stop()
        reaper.join(5)
