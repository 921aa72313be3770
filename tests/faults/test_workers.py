"""Drills 1-3: workers paused past their lease, hung, or killed, on the real RabbitMQ with
separate worker processes and one SQLite store. Nothing is lost, no result is stored twice."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from .cluster import DRILL_WORKER, Cluster

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]

LEASE = float(DRILL_WORKER["lease_seconds"])
DISCARDED = "lost its lease; result discarded"


def paused_past_lease(cluster: Cluster, jobs: int, sleep: float, pause: float) -> tuple[Any, Any, list[str]]:
    """Drill 1: SIGSTOP a worker mid-job for `pause` seconds, then SIGCONT it."""
    cluster.start_workers(2)
    cluster.submit(jobs, sleep=sleep)
    victim = cluster.worker_running_a_job()
    victim.stop()
    held = [j for j in cluster.jobs_started_by(victim) if cluster.services.store.jobs.get(j).state == "running"]
    time.sleep(pause)
    victim.cont()
    result = cluster.wait_drained(timeout=90, settle=sleep + 2)
    return victim, result, held


def test_drill_1_a_worker_paused_past_its_lease_stores_no_second_result(make_cluster: Callable[..., Cluster]) -> None:
    cluster = make_cluster()
    victim, result, held = paused_past_lease(cluster, jobs=12, sleep=1.5, pause=3 * LEASE)
    assert (result.lost, result.duplicated) == (0, 0), result.line("drill 1")
    assert result.done == 12
    assert held, "the paused worker held no running job"
    for job_id in held:
        attempts = result.starts[job_id]
        assert len(attempts) >= 2, f"the held job {job_id} was not taken over: {attempts}"
    # The resumed worker found out and said so, once per job it lost.
    victim_out = victim.output()
    assert victim_out.count(DISCARDED) == len(held), victim_out[-3000:]


def test_drill_2_a_hung_worker_holds_no_queued_jobs(make_cluster: Callable[..., Cluster]) -> None:
    cluster = make_cluster()
    cluster.start_workers(2)
    cluster.submit(16, sleep=0.5)
    victim = cluster.worker_running_a_job()
    victim.stop()
    stopped_at = time.time()
    held = [j for j in cluster.jobs_started_by(victim) if cluster.services.store.jobs.get(j).state == "running"]
    # The other worker takes everything, the hung one's running job included, while it hangs.
    result = cluster.wait_drained(timeout=60)
    assert (result.done, result.lost, result.duplicated) == (16, 0, 0), result.line("drill 2")
    for job_id in held:
        takeover = result.starts[job_id][-1][2] - stopped_at
        assert takeover <= 30, f"job {job_id} was taken over {takeover:.1f}s after the hang"
    assert all(start[1] != victim.pid for attempts in result.starts.values() for start in attempts
               if start[2] > stopped_at), "the hung worker cannot have started anything"
    victim.cont()
    time.sleep(2)
    after = cluster.result()
    assert after.duplicated == 0 and after.done == 16


def test_drill_3_a_killed_workers_job_completes_within_a_lease(make_cluster: Callable[..., Cluster]) -> None:
    cluster = make_cluster()
    cluster.start_workers(2)
    cluster.submit(30, sleep=0.5, spread=False)  # a backlog on one queue: the taken-over job must not wait behind it
    victim = cluster.worker_running_a_job()
    killed_at = time.time()
    victim.kill()
    held = [j for j in cluster.jobs_started_by(victim) if cluster.services.store.jobs.get(j).state == "running"]
    result = cluster.wait_drained(timeout=60)
    assert (result.done, result.lost, result.duplicated) == (30, 0, 0), result.line("drill 3")
    assert held
    for job_id in held:
        completed = result.finished_at[job_id] - killed_at
        assert completed <= LEASE + 10, f"the killed worker's job {job_id} completed {completed:.1f}s after the kill"
