"""Helpers for tests on the real RabbitMQ: a per-test queue prefix that is cleaned up, and waiting."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kombu import Connection

from studybuddy.config import Config
from studybuddy.jobs.broker import make_exchange, make_queues


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextmanager
def rabbit_config(tmp_path: Path, rabbit_url: str, label: str = "test", **sections: dict[str, Any]) -> Iterator[Config]:
    """A test config on the real broker with a unique queue prefix; its queues are deleted after."""
    from ..conftest import make_config

    prefix = f"{label}-{uuid.uuid4().hex[:10]}."
    broker = {"url": rabbit_url, "queue_prefix": prefix, "connect_timeout": 2.0}
    cfg = make_config(tmp_path, broker=broker, **sections)
    try:
        yield cfg
    finally:
        with Connection(rabbit_url) as conn:
            channel = conn.channel()
            for queue in make_queues(prefix).values():
                queue.bind(channel).delete()
            make_exchange(prefix).bind(channel).delete()
