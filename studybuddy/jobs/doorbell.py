"""The in-process broker (`memory://`) with a doorbell: a publish wakes idle consumers at once.

kombu's memory transport has no socket to wait on, so an idle consumer polls its queues and
sleeps a polling interval (a second) between looks; every job of `studybuddy run` waited up to
that long. Here a publish rings a condition that the sleeping consumers wait on instead.
"""

from __future__ import annotations

import socket
import threading
from time import monotonic
from typing import Any

from kombu.transport import memory
from kombu.transport.virtual.base import Empty


class _Bell:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.rings = 0

    def ring(self) -> None:
        with self.cond:
            self.rings += 1
            self.cond.notify_all()

    def wait_after(self, seen: int, timeout: float) -> None:
        with self.cond:
            if self.rings == seen:
                self.cond.wait(timeout)


BELL = _Bell()


class Channel(memory.Channel):
    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        super()._put(queue, message, **kwargs)
        BELL.ring()

    def _put_fanout(self, exchange: str, message: Any, routing_key: str | None = None, **kwargs: Any) -> None:
        super()._put_fanout(exchange, message, routing_key, **kwargs)
        BELL.ring()


class Transport(memory.Transport):
    Channel = Channel

    def drain_events(self, connection: Any, timeout: float | None = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Like the virtual transport's, but waits for the doorbell instead of sleeping."""
        started = monotonic()
        get = self.cycle.get  # type: ignore[union-attr]
        interval = self.polling_interval or 1.0
        while True:
            seen = BELL.rings
            try:
                get(self._deliver, timeout=timeout)
                return
            except Empty:
                waited = monotonic() - started
                if timeout is not None and waited >= timeout:
                    raise socket.timeout() from None
                BELL.wait_after(seen, interval if timeout is None else min(interval, timeout - waited))
