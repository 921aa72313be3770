"""The in-process broker wakes an idle worker as soon as a job is published."""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from studybuddy.jobs import submit_job
from studybuddy.services import Services
from studybuddy.worker.consumer import Worker


def test_an_idle_worker_takes_a_job_at_once(services: Services) -> None:
    assert services.broker.is_memory
    started: dict[str, float] = {}
    seen = threading.Event()

    def handler(ctx: Any) -> str:
        started[ctx.job.id] = time.perf_counter()
        seen.set()
        return "ok"

    worker = Worker(services, handlers={"ping": handler}, run_reaper=False, concurrency=1)
    worker.start()
    try:
        assert worker.wait_ready(20)
        waits = []
        for _ in range(5):
            time.sleep(0.3)  # idle: kombu's stock memory transport now sleeps a second between looks
            seen.clear()
            t0 = time.perf_counter()
            job = submit_job(services, "ping", "someone", params={"queue": "summarize"})
            assert seen.wait(5), "the worker never took the job"
            waits.append(started[job.id] - t0)
    finally:
        worker.stop(10)
    # Stock polling gives about a second; the doorbell gives about a millisecond. 250 ms leaves room
    # for a loaded machine.
    assert statistics.median(waits) < 0.25, waits
