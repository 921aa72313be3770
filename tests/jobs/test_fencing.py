"""Fencing: an attempt that lost its lease writes nothing and leaves no result behind; leases are
renewed while a job runs; a job past its time limit fails and the worker moves on."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from studybuddy.jobs import submit_job
from studybuddy.services import Services
from studybuddy.store.models import Artifact, Course, Job, new_id
from studybuddy.worker.consumer import Delivery, Worker
from studybuddy.worker.runner import TIME_LIMIT_MESSAGE, JobContext, process_job

from ..helpers.rabbit import wait_for

DISCARDED = "lost its lease; result discarded"


def _course(services: Services, users: dict[str, Any]) -> Course:
    return services.store.courses.add(Course(id=new_id(), owner_id=users["alice"].id, name="Algebra"))


def _job(services: Services, course: Course) -> Job:
    return services.store.jobs.add(Job(id=new_id(), type="summary", queue="summarize", owner_id=course.owner_id,
                                       course_id=course.id))


def _store_result(ctx: JobContext) -> str:
    artifact = ctx.store.artifacts.add(Artifact(id=new_id(), owner_id=ctx.job.owner_id, course_id=ctx.job.course_id,
                                                kind="summary", content={"attempt": ctx.job.attempts},
                                                job_id=ctx.job.id))
    return str(artifact.id)


def _results(services: Services, course: Course) -> list[Artifact]:
    return services.store.artifacts.list_for_course(course.id)


def test_an_attempt_that_lost_its_lease_discards_its_result_and_says_so_once(
        services: Services, users: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    course = _course(services, users)
    job = _job(services, course)
    taken: list[Job] = []

    def handler(ctx: JobContext) -> str:
        ctx.progress(20, "working")
        # Meanwhile this worker paused past its lease and another took the job over.
        later = time.time() + services.config.worker.lease_seconds + 1
        taken.append(services.store.jobs.claim(job.id, "other-worker", 30, later))
        return _store_result(ctx)

    with caplog.at_level(logging.INFO, logger="studybuddy.worker.runner"):
        assert process_job(services, job.id, "paused-worker", {"summary": handler}) == "lost"
    assert caplog.text.count(DISCARDED) == 1
    assert _results(services, course) == [], "the loser's result must be gone"
    running = services.store.jobs.get(job.id)
    assert running.state == "running" and running.lease_owner == "other-worker" and running.attempts == 2
    # The attempt that owns the job finishes it: exactly one result.
    winner = JobContext(taken[0], services, "other-worker")
    ref = _store_result(winner)
    assert services.store.jobs.finish(job.id, taken[0].lease_token, "succeeded", time.time(), result_ref=ref)
    assert [a.id for a in _results(services, course)] == [ref]


def test_progress_after_the_lease_was_lost_stops_the_handler(services: Services, users: dict[str, Any]) -> None:
    course = _course(services, users)
    job = _job(services, course)
    reached: list[str] = []

    def handler(ctx: JobContext) -> str:
        services.store.jobs.requeue_expired(time.time() + 3600)  # the reaper gave it away
        ctx.progress(50, "half way")
        reached.append("after progress")
        return _store_result(ctx)

    assert process_job(services, job.id, "w", {"summary": handler}) == "lost"
    assert reached == [] and _results(services, course) == []
    assert services.store.jobs.get(job.id).state == "queued"


def test_a_cancel_while_running_discards_the_result(services: Services, users: dict[str, Any]) -> None:
    course = _course(services, users)
    job = _job(services, course)

    def handler(ctx: JobContext) -> str:
        services.store.jobs.cancel(job.id, course.owner_id, time.time())
        return _store_result(ctx)

    assert process_job(services, job.id, "w", {"summary": handler}) == "cancelled"
    assert _results(services, course) == []
    cancelled = services.store.jobs.get(job.id)
    assert cancelled.state == "cancelled" and cancelled.lease_token == ""


def test_a_discarded_chat_answer_takes_its_message_with_it(services: Services, users: dict[str, Any]) -> None:
    from studybuddy.study.chat import MESSAGE, add_message, start_conversation

    course = _course(services, users)
    job = _job(services, course)
    conversation = start_conversation(services.store, course.owner_id, course.id, "q")

    def handler(ctx: JobContext) -> str:
        services.store.jobs.requeue_expired(time.time() + 3600)
        artifact = ctx.store.artifacts.add(Artifact(id=new_id(), owner_id=course.owner_id, course_id=course.id,
                                                    kind="chat", content={"conversation_id": conversation.id},
                                                    job_id=job.id))
        add_message(ctx.store, conversation, "assistant", "answer", artifact_id=artifact.id, job_id=job.id)
        return str(artifact.id)

    assert process_job(services, job.id, "w", {"summary": handler}) == "lost"
    assert _results(services, course) == []
    assert services.store.items.find(MESSAGE, owner_id=course.owner_id, parent_id=conversation.id) == []


def test_leases_are_renewed_while_a_job_runs_without_progress(cfg: Any, users: dict[str, Any]) -> None:
    services = Services(cfg.replace(worker={"lease_seconds": 1, "lease_renew_seconds": 0.2,
                                            "reaper_interval_seconds": 0.1}))
    course = services.store.courses.add(Course(id=new_id(), owner_id=users["alice"].id, name="c"))

    def slow(ctx: JobContext) -> str:
        time.sleep(3)  # three leases, no progress call
        return _store_result(ctx)

    worker = Worker(services, handlers={"summary": slow}, concurrency=2)
    worker.start()
    try:
        job = submit_job(services, "summary", course.owner_id, course_id=course.id)
        wait_for(lambda: services.store.jobs.get(job.id).state == "succeeded", timeout=20, what="the job")
        assert services.store.jobs.get(job.id).attempts == 1, "the reaper must not take a renewed lease"
        assert len(_results(services, course)) == 1
    finally:
        worker.stop(10)
        services.close()


def test_a_job_past_its_time_limit_fails_and_the_worker_moves_on(cfg: Any, users: dict[str, Any]) -> None:
    services = Services(cfg.replace(worker={"job_timeout_seconds": 1}))
    course = services.store.courses.add(Course(id=new_id(), owner_id=users["alice"].id, name="c"))
    release = threading.Event()

    def handler(ctx: JobContext) -> str:
        if ctx.job.params.get("stuck"):
            release.wait(20)
        return _store_result(ctx)

    worker = Worker(services, handlers={"summary": handler}, concurrency=1, run_reaper=False)
    worker.start()
    try:
        stuck = submit_job(services, "summary", course.owner_id, course_id=course.id, params={"stuck": True})
        wait_for(lambda: services.store.jobs.get(stuck.id).state == "failed", timeout=10, what="the time limit")
        failed = services.store.jobs.get(stuck.id)
        assert failed.error_user == TIME_LIMIT_MESSAGE and "time limit" in failed.error_internal
        ok, why = worker.alive()
        assert not ok and "past its time limit" in why
        # The one consumer thread is free again while the stuck handler still runs.
        nxt = submit_job(services, "summary", course.owner_id, course_id=course.id)
        wait_for(lambda: services.store.jobs.get(nxt.id).state == "succeeded", timeout=10, what="the next job")
        release.set()
        wait_for(lambda: worker.alive()[0], timeout=10, what="the stuck handler to end")
        # Its late result was discarded: one result, the next job's.
        assert [a.job_id for a in _results(services, course)] == [nxt.id]
        assert services.store.jobs.get(stuck.id).state == "failed"
    finally:
        release.set()
        worker.stop(10)
        services.close()


def test_ingest_has_the_longest_time_limit(cfg: Any) -> None:
    from studybuddy.worker.runner import time_limit_seconds

    worker = cfg.worker
    assert time_limit_seconds(worker, "ingest") == worker.ingest_timeout_seconds
    assert all(time_limit_seconds(worker, t) == worker.job_timeout_seconds for t in ("summary", "chat", "ping"))
    assert worker.ingest_timeout_seconds > worker.job_timeout_seconds


def test_a_lease_renewal_period_not_below_the_lease_is_refused() -> None:
    from studybuddy.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="lease_renew_seconds must be below"):
        load_config(text="worker:\n  lease_seconds: 10\n  lease_renew_seconds: 10\n", env={})
    assert load_config(env={}).worker.lease_seconds == 30


def test_one_round_of_the_lease_keeper(services: Services, users: dict[str, Any],
                                       caplog: pytest.LogCaptureFixture) -> None:
    """Renews every running job that is still this worker's, skips the idle, the timed-out and the
    lost, marks a job taken over as lost (saying so), and carries on past a store error."""
    course = _course(services, users)
    worker = Worker(services, concurrency=8, handlers={}, run_reaper=False)
    jobs = services.store.jobs
    now = time.time()

    def running(*, timed_out: bool = False, lost: bool = False, taken_over: bool = False) -> tuple[Any, Job]:
        job = jobs.claim(_job(services, course).id, "this-worker", 5, now)
        assert job is not None
        if taken_over:  # the lease ran out and another worker claimed it
            assert jobs.claim(job.id, "other-worker", 30, now + 6) is not None
        delivery = Delivery(message=None, job_id=job.id)
        delivery.running.start(job)
        delivery.running.timed_out, delivery.running.lost = timed_out, lost
        return delivery, job

    broken, broken_job = running()
    taken, taken_job = running(taken_over=True)
    lost, lost_job = running(lost=True)
    late, late_job = running(timed_out=True)
    first, first_job = running()
    second, second_job = running()
    starting = Delivery(message=None, job_id="not-claimed-yet")  # its job thread has not claimed it yet
    deliveries = [None, taken, lost, late, broken, starting, first, second]  # the idle consumer first
    for consumer, delivery in zip(worker.consumers, deliveries):
        consumer.current = delivery
    heartbeat = jobs.heartbeat

    def failing_for_one(job_id: str, *args: Any) -> bool:
        if job_id == broken_job.id:
            raise OSError("disk I/O error")
        return heartbeat(job_id, *args)

    jobs.heartbeat = failing_for_one  # type: ignore[method-assign]
    try:
        with caplog.at_level(logging.INFO, logger="studybuddy.worker.consumer"):
            assert worker.renew_leases() == 2
    finally:
        jobs.heartbeat = heartbeat  # type: ignore[method-assign]
    for job in (first_job, second_job):
        assert jobs.get(job.id).lease_expires_at >= now + services.config.worker.lease_seconds  # renewed
    for job in (lost_job, late_job):
        assert jobs.get(job.id).lease_expires_at == pytest.approx(now + 5)  # left alone
    assert taken.running.lost is True and not first.running.lost and not broken.running.lost
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("INFO", f"job {taken_job.id} (summary) is no longer this worker's (lease lost or cancelled)") in messages
    assert ("ERROR", f"could not renew the lease of job {broken_job.id}") in messages
    assert [r.exc_info[0] for r in caplog.records if r.levelname == "ERROR"] == [OSError]
