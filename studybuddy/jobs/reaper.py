"""The reaper: republishes jobs the broker lost or never got, and buries exhausted ones."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from .service import dispatch

if TYPE_CHECKING:
    from ..services import Services

log = logging.getLogger(__name__)


def reap_once(services: "Services", now: float | None = None) -> int:
    """One pass; returns how many jobs it acted on ("was there work?")."""
    now = time.time() if now is None else now
    jobs = services.store.jobs
    cfg = services.config.worker
    acted = 0
    for job in jobs.requeue_expired(now):
        log.warning("job %s (%s): lease expired on attempt %d, requeued", job.id, job.type, job.attempts)
        acted += 1
    for job in jobs.bury_exhausted(now):
        log.error("job %s (%s) is dead after %d attempts: %s", job.id, job.type, job.attempts,
                  job.error_internal or "no error recorded")
        acted += 1
    # A job published long ago but still queued lost its message (broker restart without
    # persistence, memory broker). Republishing is safe: claims are atomic.
    redispatch_before = now - max(cfg.lease_seconds * 5, 300)
    for job in jobs.due_for_dispatch(now, redispatch_before):
        if job.dispatched_at is not None:
            jobs.unmark_dispatched(job.id)
        if dispatch(services, job):
            log.info("job %s (%s) dispatched by the reaper", job.id, job.type)
            acted += 1
        else:
            break  # broker still down: try again next round
    return acted


class Reaper(threading.Thread):
    """Runs reap_once every `worker.reaper_interval_seconds` until stopped."""

    def __init__(self, services: "Services"):
        super().__init__(name="reaper", daemon=True)
        self.services = services
        self.stop_event = threading.Event()

    def run(self) -> None:
        interval = self.services.config.worker.reaper_interval_seconds
        while not self.stop_event.is_set():
            try:
                reap_once(self.services)
            except Exception:
                log.exception("reaper pass failed")
            self.stop_event.wait(interval)

    def stop(self) -> None:
        self.stop_event.set()
