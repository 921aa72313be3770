"""The publisher while the broker does not answer: every thread waits out its own timeout, never
another thread's (each thread publishes on a connection of its own)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Iterator

import pytest

from studybuddy.config import load_config
from studybuddy.jobs.broker import Broker, BrokerUnavailable


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """An address that accepts connections and never says a word (a hung broker, a black hole)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"amqp://guest:guest@127.0.0.1:{listener.getsockname()[1]}//"
    listener.close()
    for conn in held:
        conn.close()


def _fails(broker: Broker) -> float:
    started = time.perf_counter()
    with pytest.raises(BrokerUnavailable):
        broker.publish("job-1", "summarize")
    return time.perf_counter() - started


def test_publishers_do_not_queue_behind_each_others_timeouts(silent_broker: str) -> None:
    cfg = load_config(env={}).replace(broker={"url": silent_broker, "connect_timeout": 0.4})
    broker = Broker(cfg.broker)
    try:
        alone = _fails(broker)
        took: list[float] = []
        threads = [threading.Thread(target=lambda: took.append(_fails(broker))) for _ in range(6)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        together = time.perf_counter() - started
    finally:
        broker.close()
    assert len(took) == 6
    # One after another, six would take six times as long as one.
    assert together < 2.5 * alone, f"six publishers took {together:.2f} s, one alone {alone:.2f} s"
