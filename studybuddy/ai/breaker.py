"""A circuit breaker per provider: stop calling a provider that keeps failing, test it again later.

closed     calls go through; `failures` consecutive failures open the circuit.
open       calls are refused until `cooldown` seconds have passed since it opened.
half_open  one trial call goes through: success closes the circuit, failure opens it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        failures: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.threshold = max(1, failures)
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        with self._lock:
            return self._current_state()

    def _current_state(self) -> str:
        if self._state == OPEN and self._clock() - self._opened_at >= self.cooldown:
            return HALF_OPEN
        return self._state

    def allow(self) -> bool:
        """May a call go through now? In half-open, only one trial call at a time may."""
        with self._lock:
            state = self._current_state()
            if state == CLOSED:
                return True
            if state == OPEN:
                return False
            if self._state == OPEN:
                log.info("circuit for %s is half-open: trying it again", self.name)
                self._state = HALF_OPEN
                self._trial_in_flight = False
            if self._trial_in_flight:
                return False
            self._trial_in_flight = True
            return True

    def record_success(self) -> None:
        with self._lock:
            if self._state != CLOSED:
                log.info("circuit for %s closed: it answered again", self.name)
            self._state = CLOSED
            self._failures = 0
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._trial_in_flight = False
            if self._state == HALF_OPEN:
                self._open("its trial call failed")
                return
            self._failures += 1
            if self._state == CLOSED and self._failures >= self.threshold:
                self._open(f"{self._failures} consecutive failures")

    def _open(self, why: str) -> None:
        self._state = OPEN
        self._opened_at = self._clock()
        log.warning("circuit for %s opened (%s); next try in %gs", self.name, why, self.cooldown)

    def snapshot(self) -> dict[str, Any]:
        """State for status pages and the monitor."""
        with self._lock:
            state = self._current_state()
            retry_in = 0.0
            if state == OPEN:
                retry_in = max(0.0, self.cooldown - (self._clock() - self._opened_at))
            return {"state": state, "failures": self._failures, "retry_in_seconds": round(retry_in, 1)}
