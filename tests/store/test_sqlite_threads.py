"""A connection per thread, gone with its thread: a process that runs each job in a thread of its
own (the worker) keeps as many connections open as it has live threads, not one per job ever run."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from studybuddy.jobs import submit_job
from studybuddy.services import Services
from studybuddy.store.sqlite import SqliteStore
from studybuddy.worker.consumer import Worker


def _files_open() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_threads_connection_closes_when_the_thread_ends(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite", tmp_path / "blobs")
    try:
        store.users.count()  # this thread's
        before = _files_open()
        for _ in range(60):
            thread = threading.Thread(target=store.users.count)
            thread.start()
            thread.join()
        assert store.db.open_connections() == 1
        assert _files_open() <= before + 2, "connections of ended threads are still open"
        # A thread that still runs keeps its own.
        ready, done = threading.Event(), threading.Event()

        def hold() -> None:
            store.users.count()
            ready.set()
            done.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        assert ready.wait(10)
        assert store.db.open_connections() == 2
        done.set()
        holder.join()
        assert store.db.open_connections() == 1
    finally:
        store.close()
    assert store.db.open_connections() == 0


def test_a_worker_running_many_jobs_keeps_few_connections(services: Services) -> None:
    """Each job submits the next from its own thread, so each job's thread reads and writes the
    store and publishes to the broker."""
    finished = threading.Semaphore(0)

    def handler(ctx: Any) -> str:
        left = int(ctx.job.params.get("left", 0))
        if left:
            submit_job(services, "ping", "someone", params={"queue": "summarize", "left": left - 1})
        finished.release()
        return "ok"

    worker = Worker(services, handlers={"ping": handler}, run_reaper=False, concurrency=1)
    worker.start()
    try:
        assert worker.wait_ready(20)
        submit_job(services, "ping", "someone", params={"queue": "summarize", "left": 39})
        for _ in range(40):
            assert finished.acquire(timeout=10), "the worker did not run the next job"
    finally:
        worker.stop(10)
    # This test's thread, the worker's consumer, lease, watchdog... never one per job.
    assert services.store.db.open_connections() < 10
    assert services.broker.open_connections() < 5
