"""The worker on a full disk: give the job back, wait, and say so once a minute.

A full disk is not the job's fault: its attempt is not charged and its message goes back to the
queue. The consumer thread waits a little longer each time (up to `MAX_WAIT` seconds, well inside
the watchdog's silence limit) and logs one line a minute instead of a traceback per delivery. Once
a job runs again, one line says the storage has room again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..checks import safe_error
from ..store.base import is_storage_full

if TYPE_CHECKING:
    from ..store import Store

log = logging.getLogger(__name__)

FIRST_WAIT = 1.0
MAX_WAIT = 10.0
LOG_EVERY = 60.0


class DiskFullBackoff:
    """Shared by a worker process's consumer threads (one report a minute for all of them)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._wait = FIRST_WAIT
        self._last_report: float | None = None
        self._held = 0
        self.full = False

    def hold(self, exc: BaseException) -> bool:
        """If `exc` is a full disk: report (at most once a minute), wait, and return True so the
        caller requeues the message. Any other error: False, at once."""
        if not is_storage_full(exc):
            return False
        with self._lock:
            self.full = True
            self._held += 1
            now = self.clock()
            if self._last_report is None or now - self._last_report >= LOG_EVERY:
                log.error("storage is full (%s): jobs wait until space is freed; %d held back since the last report",
                          safe_error(exc), self._held)
                self._last_report, self._held = now, 0
            wait, self._wait = self._wait, min(self._wait * 2, MAX_WAIT)
        self.sleep(wait)
        return True

    def clear(self) -> None:
        """A job went through: the storage has room (again)."""
        if not self.full:
            return
        with self._lock:
            if self.full:
                log.warning("storage has room again; jobs run again")
            self.full, self._wait, self._last_report, self._held = False, FIRST_WAIT, None, 0


BACKOFF = DiskFullBackoff()


def give_back(store: Store, job_id: str, token: str, now: float, exc: BaseException) -> bool:
    """A job that failed on a full disk goes back to the queue, its attempt not charged; True if so.

    If even that write fails, the lease runs out and the reaper requeues the job."""
    if not is_storage_full(exc):
        return False
    try:
        store.jobs.release(job_id, token, now)
    except Exception:  # noqa: BLE001 - the disk is still full: the lease expires instead
        pass
    return True
