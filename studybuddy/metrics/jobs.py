"""What the worker records after each delivery: Prometheus figures and the per-day counts the
daily report reads (kept in the store's counters, so they outlive the job records)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from . import JOB_DURATION, JOB_QUEUE_WAIT, JOBS

if TYPE_CHECKING:
    from ..services import Services
    from ..store.models import Job

log = logging.getLogger(__name__)

# Outcomes of process_job that the daily report counts (a skipped delivery ran nothing).
COUNTED_OUTCOMES = ("succeeded", "failed", "dead", "retry")


def daily_key(day: str, job_type: str, outcome: str) -> str:
    """The store counter of one job type's outcomes on one local day (YYYY-MM-DD)."""
    return f"jobs:{day}:{job_type}:{outcome}"


def local_day(timestamp: float, timezone: str) -> str:
    return dt.datetime.fromtimestamp(timestamp, ZoneInfo(timezone)).date().isoformat()


def observe_job(job: Job, outcome: str) -> None:
    """Prometheus figures of one processed delivery of `job` (as stored after it ran)."""
    JOBS.labels(job.type, outcome).inc()
    if outcome in ("skipped", "held") or not job.started_at:  # nothing ran for this delivery
        return
    ended = job.finished_at or job.updated_at
    JOB_DURATION.labels(job.type).observe(max(ended - job.started_at, 0.0))
    # Due since it was created, or since the backoff of its previous attempt ended. After a
    # retry not_before already points at the next attempt: nothing to measure then.
    wait = job.started_at - max(job.created_at, job.not_before)
    if wait >= 0:
        JOB_QUEUE_WAIT.labels(job.type).observe(wait)


def record_job(services: Services, job_id: str, outcome: str) -> None:
    """After a delivery: its figures, and the day's count for the report. Never raises."""
    try:
        job = services.store.jobs.get(job_id)
        if job is None:
            JOBS.labels("unknown", outcome).inc()
            return
        observe_job(job, outcome)
        if outcome in COUNTED_OUTCOMES:
            day = local_day(job.finished_at or job.updated_at, services.config.app.timezone)
            services.store.counters.incr(daily_key(day, job.type, outcome))
    except Exception as exc:  # noqa: BLE001 - the figures must never fail a job
        log.warning("could not record the outcome of job %s: %s", job_id, exc)
