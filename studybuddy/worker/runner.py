"""Running one job: claim it atomically, call its handler, record the outcome."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from ..jobs.errors import PermanentError, TransientError
from ..store.models import Job
from .diskfull import give_back

if TYPE_CHECKING:
    from ..config import Config
    from ..services import Services
    from ..store import Store

log = logging.getLogger(__name__)

Handler = Callable[["JobContext"], str]

UNKNOWN_TYPE_MESSAGE = "This kind of task is not supported by this server."
FAILED_MESSAGE = "Something went wrong while working on this. Please try again later."


@dataclass
class JobContext:
    """What a handler gets: the claimed job, the services, and a way to report progress."""

    job: Job
    services: "Services"
    worker_id: str
    on_heartbeat: Callable[[], None] = field(default=lambda: None)

    @property
    def store(self) -> "Store":
        return self.services.store

    @property
    def config(self) -> "Config":
        return self.services.config

    def progress(self, percent: int, stage: str = "") -> None:
        """Record progress (percent + stage text); also renews the lease."""
        now = time.time()
        jobs = self.store.jobs
        if not jobs.set_progress(self.job.id, self.worker_id, percent, stage, now):
            stop_if_cancelled(self)
        jobs.heartbeat(self.job.id, self.worker_id, self.config.worker.lease_seconds, now)
        self.on_heartbeat()


class JobCancelled(BaseException):
    """The student cancelled the job: stop (a BaseException, so no handler carries on)."""


def stop_if_cancelled(ctx: JobContext) -> None:
    current = ctx.store.jobs.get(ctx.job.id)
    if current is not None and current.state == "cancelled":
        raise JobCancelled


class RunningJob:
    """The job a consumer thread is running, for the lease keeper and the watchdog."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.job: Job | None = None
        self.started = 0.0
        self.last_beat = 0.0

    def start(self, job: Job) -> None:
        with self.lock:
            self.job, self.started, self.last_beat = job, time.monotonic(), time.monotonic()

    def beat(self) -> None:
        self.last_beat = time.monotonic()

    def clear(self) -> None:
        with self.lock:
            self.job = None

    def snapshot(self) -> tuple[Job | None, float]:
        with self.lock:
            return self.job, self.started


def backoff_seconds(base: float, attempt: int) -> float:
    return float(base * (2 ** max(attempt - 1, 0)))


def process_job(
    services: "Services",
    job_id: str,
    worker_id: str,
    handlers: dict[str, Handler],
    running: RunningJob | None = None,
) -> str:
    """Claim and run one job. Returns the outcome: skipped, succeeded, failed, retry or dead."""
    store = services.store
    cfg = services.config.worker
    job = store.jobs.claim(job_id, worker_id, cfg.lease_seconds, time.time())
    if job is None:
        current = store.jobs.get(job_id)
        if current is None:
            log.warning("message for job %s which does not exist; dropped", job_id)
        else:
            log.info("job %s is %s; this delivery does nothing", job_id, current.state)
        return "skipped"
    handler = handlers.get(job.type)
    if handler is None:
        log.error("job %s has unknown type %r", job.id, job.type)
        store.jobs.finish(job.id, worker_id, "failed", time.time(), error_user=UNKNOWN_TYPE_MESSAGE,
                          error_internal=f"unknown job type {job.type!r}")
        return "failed"
    if running is not None:
        running.start(job)
    ctx = JobContext(job, services, worker_id, on_heartbeat=running.beat if running else (lambda: None))
    started = time.perf_counter()
    try:
        log.info("job %s (%s) attempt %d started", job.id, job.type, job.attempts)
        result_ref = handler(ctx)
    except JobCancelled:
        log.info("job %s (%s) was cancelled; stopped", job.id, job.type)
        return "cancelled"
    except PermanentError as exc:
        log.warning("job %s (%s) failed: %s", job.id, job.type, exc.internal)
        store.jobs.finish(job.id, worker_id, "failed", time.time(), error_user=exc.user_message,
                          error_internal=exc.internal)
        return "failed"
    except Exception as exc:  # noqa: BLE001 - anything else may pass: retry with backoff
        if give_back(store, job.id, worker_id, time.time(), exc):
            raise  # a full disk: the consumer holds the message back (worker/diskfull.py)
        transient = isinstance(exc, TransientError)
        detail = f"{type(exc).__name__}: {exc}"
        if not transient:
            log.exception("job %s (%s) raised", job.id, job.type)
        if job.attempts >= job.max_attempts:
            log.error("job %s (%s) dead after %d attempts: %s", job.id, job.type, job.attempts, detail)
            store.jobs.finish(job.id, worker_id, "dead", time.time(),
                              error_user=FAILED_MESSAGE, error_internal=detail)
            return "dead"
        delay = backoff_seconds(cfg.retry_backoff_seconds, job.attempts)
        log.warning("job %s (%s) attempt %d failed (%s); retry in %.0fs", job.id, job.type,
                    job.attempts, detail, delay)
        store.jobs.retry_later(job.id, worker_id, time.time() + delay, detail, time.time())
        return "retry"
    finally:
        if running is not None:
            running.clear()
    if not store.jobs.finish(job.id, worker_id, "succeeded", time.time(), result_ref=result_ref or ""):
        current = store.jobs.get(job.id)
        if current is not None and current.state == "cancelled":
            # Cancelled while its last step ran: the result nobody waits for any more is discarded.
            if result_ref and store.artifacts.get(result_ref) is not None:
                store.artifacts.delete(result_ref)
            log.info("job %s (%s) was cancelled; its result was discarded", job.id, job.type)
            return "cancelled"
        log.warning("job %s finished after losing its lease; result %s kept", job.id, result_ref)
    log.info("job %s (%s) succeeded in %.0f ms", job.id, job.type, (time.perf_counter() - started) * 1000)
    return "succeeded"

