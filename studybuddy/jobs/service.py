"""Submitting jobs: write the record, then ring the doorbell."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from ..store.models import Job, new_id
from .broker import BrokerUnavailable
from .types import queue_for

if TYPE_CHECKING:
    from ..services import Services

log = logging.getLogger(__name__)


def submit_job(
    services: "Services",
    job_type: str,
    owner_id: str,
    *,
    course_id: str = "",
    document_id: str = "",
    params: dict[str, Any] | None = None,
) -> Job:
    """Create a queued job and publish it. If the broker is down the job stays queued and
    undispatched; the reaper publishes it once the broker is back."""
    params = dict(params or {})
    queue = queue_for(job_type, params.get("queue"))
    now = time.time()
    job = Job(
        id=new_id(),
        type=job_type,
        queue=queue,
        owner_id=owner_id,
        course_id=course_id,
        document_id=document_id,
        params=params,
        max_attempts=services.config.worker.max_attempts,
        created_at=now,
        updated_at=now,
    )
    services.store.jobs.add(job)
    dispatch(services, job)
    return job


def dispatch(services: "Services", job: Job) -> bool:
    """Publish a queued job once; returns False if it stays for the reaper."""
    store = services.store
    if not store.jobs.mark_dispatched(job.id, time.time()):
        return False
    try:
        services.broker.publish(job.id, job.queue)
    except BrokerUnavailable as exc:
        store.jobs.unmark_dispatched(job.id)
        log.warning("job %s (%s) not dispatched, broker unavailable: %s", job.id, job.type, exc)
        return False
    return True
