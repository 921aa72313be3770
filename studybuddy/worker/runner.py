"""Running one job: claim it atomically, call its handler, record the outcome.

A claim hands out a lease token (`job.lease_token`). Every later write of this attempt —
progress, lease renewals, the outcome — is made only while that token still owns the job, in
the same atomic update. A worker that lost its lease (paused past it, over its time limit, the
job cancelled) can therefore change nothing; the result it stored is discarded.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..jobs.errors import PermanentError, TransientError
from ..store.models import Job
from .diskfull import give_back

if TYPE_CHECKING:
    from ..config import Config, WorkerConfig
    from ..services import Services
    from ..store import Store

log = logging.getLogger(__name__)

Handler = Callable[["JobContext"], str]

def N_(message: str) -> str:
    """Marks a message for the catalogs; the page shows the job's message in the student's language."""
    return message


UNKNOWN_TYPE_MESSAGE = N_("This kind of task is not supported by this server.")
FAILED_MESSAGE = N_("Something went wrong while working on this. Please try again later.")
TIME_LIMIT_MESSAGE = N_("This took too long and was stopped. Please try again, perhaps with less material.")


def time_limit_seconds(cfg: "WorkerConfig", job_type: str) -> float:
    """The wall-clock limit of one attempt of a job of this type."""
    if job_type == "ingest":
        return float(cfg.ingest_timeout_seconds)
    return float(cfg.job_timeout_seconds)


class LeaseLost(BaseException):
    """This attempt no longer owns its job (taken over, over its time limit or cancelled): stop.
    A BaseException, so that no handler's `except Exception` carries on."""


class JobCancelled(LeaseLost):
    """The student cancelled the job."""


@dataclass
class JobContext:
    """What a handler gets: the claimed job, the services, and a way to report progress."""

    job: Job
    services: "Services"
    worker_id: str

    @property
    def store(self) -> "Store":
        return self.services.store

    @property
    def config(self) -> "Config":
        return self.services.config

    @property
    def token(self) -> str:
        return self.job.lease_token

    def progress(self, percent: int, stage: str = "") -> None:
        """Record progress (percent + stage text); raises LeaseLost once the job is not ours."""
        if not self.store.jobs.set_progress(self.job.id, self.token, percent, stage, time.time()):
            stop_if_cancelled(self)
            raise LeaseLost


def stop_if_cancelled(ctx: JobContext) -> None:
    current = ctx.store.jobs.get(ctx.job.id)
    if current is not None and current.state == "cancelled":
        raise JobCancelled


class RunningJob:
    """One delivery's job, for the lease keeper, the time limit and the watchdog."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.job: Job | None = None
        self.started = 0.0
        self.timed_out = False  # stopped at its time limit
        self.lost = False  # a lease renewal found the job no longer ours

    def start(self, job: Job) -> None:
        with self.lock:
            self.job, self.started = job, time.monotonic()

    def clear(self) -> None:
        with self.lock:
            self.job = None

    def snapshot(self) -> tuple[Job | None, float]:
        with self.lock:
            return self.job, self.started


def backoff_seconds(base: float, attempt: int) -> float:
    return float(base * (2 ** max(attempt - 1, 0)))


def discard_result(store: "Store", result_ref: str) -> None:
    """Delete the artifact an attempt stored and the chat message that shows it."""
    artifact = store.artifacts.get(result_ref) if result_ref else None
    if artifact is None:
        return
    conversation_id = str(artifact.content.get("conversation_id") or "")
    if conversation_id:
        from ..study.chat import MESSAGE

        for item in store.items.find(MESSAGE, owner_id=artifact.owner_id, parent_id=conversation_id):
            if item.data.get("artifact_id") == artifact.id:
                store.items.delete(item.id)
    store.artifacts.delete(artifact.id)


def _why_lost(store: "Store", job: Job, running: RunningJob | None) -> str:
    current = store.jobs.get(job.id)
    if current is not None and current.state == "cancelled":
        return "cancelled"
    if running is not None and running.timed_out:
        return "timed_out"
    return "lost"


def _report_lost(job: Job, why: str, what: str) -> str:
    if why == "cancelled":
        log.info("job %s (%s) was cancelled; %s", job.id, job.type, what)
    elif why == "timed_out":
        log.warning("job %s (%s) attempt %d ran past its time limit; %s", job.id, job.type, job.attempts, what)
    else:
        log.warning("job %s (%s) attempt %d lost its lease; %s", job.id, job.type, job.attempts, what)
    return why


def process_job(
    services: "Services",
    job_id: str,
    worker_id: str,
    handlers: dict[str, Handler],
    running: RunningJob | None = None,
) -> str:
    """Claim and run one job. Returns the outcome: skipped, held (running elsewhere under a valid
    lease), succeeded, failed, retry, dead, cancelled, lost or timed_out."""
    store = services.store
    cfg = services.config.worker
    job = store.jobs.claim(job_id, worker_id, cfg.lease_seconds, time.time())
    if job is None:
        current = store.jobs.get(job_id)
        if current is None:
            log.warning("message for job %s which does not exist; dropped", job_id)
            return "skipped"
        if current.state == "running":
            log.info("job %s is running elsewhere under a valid lease; this delivery does nothing", job_id)
            return "held"
        log.info("job %s is %s; this delivery does nothing", job_id, current.state)
        return "skipped"
    token = job.lease_token
    handler = handlers.get(job.type)
    if handler is None:
        log.error("job %s has unknown type %r", job.id, job.type)
        store.jobs.finish(job.id, token, "failed", time.time(), error_user=UNKNOWN_TYPE_MESSAGE,
                          error_internal=f"unknown job type {job.type!r}")
        return "failed"
    if running is not None:
        running.start(job)
    ctx = JobContext(job, services, worker_id)
    started = time.perf_counter()
    try:
        log.info("job %s (%s) attempt %d started", job.id, job.type, job.attempts)
        result_ref = handler(ctx)
    except LeaseLost:
        return _report_lost(job, _why_lost(store, job, running), "stopped")
    except PermanentError as exc:
        log.warning("job %s (%s) failed: %s", job.id, job.type, exc.internal)
        if not store.jobs.finish(job.id, token, "failed", time.time(), error_user=exc.user_message,
                                 error_internal=exc.internal):
            return _report_lost(job, _why_lost(store, job, running), "its failure was not recorded")
        return "failed"
    except Exception as exc:  # noqa: BLE001 - anything else may pass: retry with backoff
        if give_back(store, job.id, token, time.time(), exc):
            raise  # a full disk: the consumer holds the message back (worker/diskfull.py)
        transient = isinstance(exc, TransientError)
        detail = f"{type(exc).__name__}: {exc}"
        if not transient:
            log.exception("job %s (%s) raised", job.id, job.type)
        if job.attempts >= job.max_attempts:
            if not store.jobs.finish(job.id, token, "dead", time.time(), error_user=FAILED_MESSAGE,
                                     error_internal=detail):
                return _report_lost(job, _why_lost(store, job, running), "its failure was not recorded")
            log.error("job %s (%s) dead after %d attempts: %s", job.id, job.type, job.attempts, detail)
            return "dead"
        delay = backoff_seconds(cfg.retry_backoff_seconds, job.attempts)
        if not store.jobs.retry_later(job.id, token, time.time() + delay, detail, time.time()):
            return _report_lost(job, _why_lost(store, job, running), "its retry was not scheduled")
        log.warning("job %s (%s) attempt %d failed (%s); retry in %.0fs", job.id, job.type,
                    job.attempts, detail, delay)
        return "retry"
    finally:
        if running is not None:
            running.clear()
    if not store.jobs.finish(job.id, token, "succeeded", time.time(), result_ref=result_ref or ""):
        # Another attempt owns the job now, or it was cancelled or stopped at its time limit:
        # the student must not see this attempt's result next to that one.
        why = _why_lost(store, job, running)
        discard_result(store, result_ref or "")
        return _report_lost(job, why, "result discarded")
    log.info("job %s (%s) succeeded in %.0f ms", job.id, job.type, (time.perf_counter() - started) * 1000)
    return "succeeded"
