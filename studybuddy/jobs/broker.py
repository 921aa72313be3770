"""The six queues, declared once, and the publisher. Used by the web, the worker and the monitor."""

from __future__ import annotations

import logging
import time
from typing import Any

from kombu import Connection, Exchange, Queue

from ..config import QUEUE_NAMES, BrokerConfig
from ..perthread import PerThread
from . import doorbell

log = logging.getLogger(__name__)

EXCHANGE_NAME = "studybuddy"


class BrokerUnavailable(Exception):
    pass


def make_exchange(prefix: str) -> Exchange:
    return Exchange(f"{prefix}{EXCHANGE_NAME}", type="direct", durable=True)


def make_queues(prefix: str, names: tuple[str, ...] | list[str] = QUEUE_NAMES) -> dict[str, Queue]:
    """Durable queues named `<prefix><name>`, routed by the bare name."""
    exchange = make_exchange(prefix)
    return {
        name: Queue(f"{prefix}{name}", exchange=exchange, routing_key=name, durable=True)
        for name in names
    }


class Broker:
    """Publishes `{job_id}` messages (JSON, persistent, confirmed on AMQP)."""

    def __init__(self, config: BrokerConfig):
        self.config = config
        self.url = config.url
        self.prefix = config.queue_prefix
        self.exchange = make_exchange(self.prefix)
        self.queues = make_queues(self.prefix)
        # A connection is not safe to share between threads, and a lock around one would make
        # every thread wait out another's timeouts while the broker is away: one per thread,
        # released when the thread ends (a job's thread, say).
        self._publishers = PerThread(lambda: _ThreadPublisher(self.connection()), _ThreadPublisher.release)

    @property
    def is_memory(self) -> bool:
        return self.url.startswith("memory://")

    def connection(self, heartbeat: float = 0) -> Connection:
        """A new connection (the caller closes it). A consumer asks for AMQP heartbeats (and
        drives them); the publisher goes without, as nothing would send them while it idles."""
        options: dict[str, Any] = {}
        if not self.is_memory:
            options["confirm_publish"] = True
        return Connection(
            self.url,
            transport=doorbell.Transport if self.is_memory else None,
            connect_timeout=self.config.connect_timeout,
            transport_options=options,
            heartbeat=0 if self.is_memory else heartbeat,
        )

    def _ensure(self) -> Any:
        """This thread's producer, connected and with the queues declared."""
        mine = self._publishers.get()
        if mine.producer is None:
            mine.conn.ensure_connection(max_retries=0, timeout=self.config.connect_timeout)
            producer = mine.conn.Producer(serializer="json")
            for queue in self.queues.values():
                queue.bind(producer.channel).declare()
            mine.producer = producer
        return mine.producer

    def _reset(self) -> None:
        """Drop this thread's connection (after a failure); the next publish opens another."""
        self._publishers.drop()

    def open_connections(self) -> int:
        return self._publishers.count()

    def publish(self, job_id: str, queue: str) -> None:
        """Publish one job message; raises BrokerUnavailable if it cannot be delivered."""
        if queue not in self.queues:
            raise ValueError(f"unknown queue {queue!r}")
        for attempt in (1, 2):
            try:
                self._ensure().publish(
                    {"job_id": job_id},
                    exchange=self.exchange,
                    routing_key=queue,
                    serializer="json",
                    delivery_mode=2,
                    timeout=self.config.publish_confirm_timeout,
                )
                return
            except Exception as exc:  # noqa: BLE001 - kombu raises many kinds
                self._reset()
                if attempt == 2:
                    raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def ping(self) -> float:
        """Open a connection and declare the queues; returns seconds taken."""
        started = time.perf_counter()
        with self.connection() as conn:
            try:
                conn.ensure_connection(max_retries=0, timeout=self.config.connect_timeout)
                channel = conn.default_channel
                for queue in self.queues.values():
                    queue.bind(channel).declare()
            except Exception as exc:  # noqa: BLE001
                raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return time.perf_counter() - started

    def queue_stats(self) -> dict[str, tuple[int, int]]:
        """name -> (messages waiting, consumers), via passive declares."""
        out: dict[str, tuple[int, int]] = {}
        with self.connection() as conn:
            try:
                conn.ensure_connection(max_retries=0, timeout=self.config.connect_timeout)
                channel = conn.default_channel
                for name, queue in self.queues.items():
                    ok = queue.bind(channel).queue_declare(passive=True)
                    out[name] = (int(ok.message_count), int(ok.consumer_count))
            except Exception as exc:  # noqa: BLE001
                raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return out

    def close(self) -> None:
        """Release every thread's connection; a later publish opens a new one."""
        self._publishers.close_all()


class _ThreadPublisher:
    """A thread's connection, and its producer once connected."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.producer: Any = None

    def release(self) -> None:
        self.producer = None
        try:
            self.conn.release()
        except Exception:  # noqa: BLE001 - the connection is broken already, or closing anyway
            pass
