"""One resource per thread (a database connection, a broker connection), made on first use and
closed when its thread ends: the worker runs each job in a thread of its own, and a resource
left open per job ran the process out of file descriptors after some hundreds of jobs."""

from __future__ import annotations

import threading
import weakref
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class _Held(Generic[T]):
    """A thread's resource. It lives in the thread's locals, so it goes when the thread ends,
    and closes the resource as it goes."""

    __slots__ = ("value", "close", "open", "__weakref__")

    def __init__(self, value: T, close: Callable[[T], None]):
        self.value = value
        self.close = close
        self.open = True

    def release(self) -> None:
        if self.open:
            self.open = False
            self.close(self.value)

    def __del__(self) -> None:
        self.release()


class PerThread(Generic[T]):
    def __init__(self, make: Callable[[], T], close: Callable[[T], None]):
        self._make = make
        self._close = close
        self._local = threading.local()
        self._live: weakref.WeakSet[_Held[T]] = weakref.WeakSet()  # those of live threads
        self._lock = threading.Lock()

    def get(self) -> T:
        held = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = _Held(self._make(), self._close)
            with self._lock:
                self._live.add(held)
        return held.value  # type: ignore[no-any-return]

    def drop(self) -> None:
        """Close this thread's now (after a failure); the next get() makes another."""
        held, self._local.held = getattr(self._local, "held", None), None
        if held is not None:
            with self._lock:
                self._live.discard(held)
            held.release()

    def count(self) -> int:
        with self._lock:
            return len(self._live)

    def close_all(self) -> None:
        """Close every thread's; a later get() makes a new one."""
        with self._lock:
            live, self._live = list(self._live), weakref.WeakSet()
            self._local = threading.local()
        for held in live:
            held.release()
