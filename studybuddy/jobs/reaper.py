"""The reaper: republishes jobs the broker lost or never got, and buries exhausted ones."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from .broker import BrokerUnavailable
from .service import dispatch

if TYPE_CHECKING:
    from ..services import Services

log = logging.getLogger(__name__)

# While jobs wait for a broker that is away, the reaper tries again this often.
UNDISPATCHED_RETRY_SECONDS = 1.0


def reap_once(services: "Services", now: float | None = None) -> int:
    """One pass; returns how many jobs it acted on ("was there work?")."""
    return _reap(services, now)[0]


def _reap(services: "Services", now: float | None = None) -> tuple[int, bool]:
    """One pass: (jobs acted on, whether some job is left undispatched because the broker is away)."""
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
    # A job published a while ago but still queued: its message was lost (broker restart
    # without persistence, memory broker) or is held by a hung worker. Republishing is safe:
    # claims are atomic, and a second message for a claimed job does nothing.
    # Only while its queue has no message waiting: behind a backlog the job's message is simply
    # in line, and one more copy per grace period would pile up.
    redispatch_before = now - cfg.dispatch_grace_seconds
    waiting: dict[str, int] | None = None
    for job in jobs.due_for_dispatch(now, redispatch_before):
        if job.dispatched_at is not None:
            if waiting is None:
                waiting = _messages_waiting(services)
            if waiting.get(job.queue, 0) > 0:
                continue
            jobs.unmark_dispatched(job.id)
        if dispatch(services, job):
            log.info("job %s (%s) dispatched by the reaper", job.id, job.type)
            acted += 1
        else:
            return acted, True  # broker still down: try again soon
    return acted, False


def _messages_waiting(services: "Services") -> dict[str, int]:
    """Messages ready on each queue; none known (republish) when the broker cannot tell."""
    try:
        return {name: waiting for name, (waiting, _) in services.broker.queue_stats().items()}
    except BrokerUnavailable:
        return {}


class Reaper(threading.Thread):
    """Runs a pass every `worker.reaper_interval_seconds` until stopped; sooner when woken (the
    broker is back, a lease runs out) and every second while jobs wait for the broker."""

    def __init__(self, services: "Services"):
        super().__init__(name="reaper", daemon=True)
        self.services = services
        self.stop_event = threading.Event()
        self._cond = threading.Condition()
        self._wake_at: float | None = None

    def wake(self, at: float | None = None) -> None:
        """Run a pass now, or at wall-clock time `at` if that is sooner than the next one."""
        with self._cond:
            when = time.time() if at is None else at
            if self._wake_at is None or when < self._wake_at:
                self._wake_at = when
            self._cond.notify_all()

    def _wait(self, seconds: float) -> None:
        deadline = time.time() + seconds
        with self._cond:
            while not self.stop_event.is_set():
                until = deadline if self._wake_at is None else min(deadline, self._wake_at)
                left = until - time.time()
                if left <= 0:
                    break
                self._cond.wait(left)
            if self._wake_at is not None and self._wake_at <= time.time():
                self._wake_at = None

    def run(self) -> None:
        interval = self.services.config.worker.reaper_interval_seconds
        while not self.stop_event.is_set():
            waiting = False
            try:
                waiting = _reap(self.services)[1]
            except Exception:
                log.exception("reaper pass failed")
            self._wait(min(interval, UNDISPATCHED_RETRY_SECONDS) if waiting else interval)

    def stop(self) -> None:
        self.stop_event.set()
        with self._cond:
            self._cond.notify_all()
