"""The worker: kombu consumers of the job queues, a lease keeper, the reaper and the watchdog."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from kombu import Connection
from kombu.mixins import ConsumerMixin

from ..jobs.reaper import Reaper
from ..metrics.jobs import record_job
from ..systemd import Notifier, watchdog_interval
from .diskfull import BACKOFF
from .handlers import default_handlers
from .runner import Handler, RunningJob, process_job

if TYPE_CHECKING:
    from ..services import Services

log = logging.getLogger(__name__)


class QueueConsumer(ConsumerMixin):
    """One consuming connection (prefetch 1) over the given queues."""

    def __init__(
        self,
        services: "Services",
        queue_names: list[str],
        handlers: dict[str, Handler],
        worker_id: str,
        connection: Connection,
    ):
        self.services = services
        self.connection = connection
        self.queue_names = queue_names
        self.handlers = handlers
        self.worker_id = worker_id
        self.running = RunningJob()
        self.last_tick = time.monotonic()
        self.consuming = threading.Event()
        self.jobs_done = 0

    def get_consumers(self, Consumer: Any, channel: Any) -> list[Any]:
        queues = [self.services.broker.queues[name] for name in self.queue_names]
        return [
            Consumer(
                queues=queues,
                callbacks=[self.on_message],
                accept=["json"],
                prefetch_count=1,
                on_decode_error=self.on_bad_message,
            )
        ]

    def on_consume_ready(self, connection: Any, channel: Any, consumers: Any, **kwargs: Any) -> None:
        self.consuming.set()
        log.info("%s consuming %s", self.worker_id, ", ".join(self.queue_names))

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        self.consuming.clear()
        log.warning("broker connection lost (%s); reconnecting in %.0fs", exc, interval)

    def on_iteration(self) -> None:
        self.last_tick = time.monotonic()

    def on_bad_message(self, message: Any, exc: Exception) -> None:
        log.error("dropped a message that is not JSON (%s)", type(exc).__name__)
        message.reject()

    def on_message(self, body: Any, message: Any) -> None:
        job_id = body.get("job_id") if isinstance(body, dict) else None
        if not isinstance(job_id, str) or not job_id:
            log.error("dropped a message without a job id: %.80r", body)
            message.ack()
            return
        try:
            outcome = process_job(self.services, job_id, self.worker_id, self.handlers, self.running)
        except Exception as exc:
            if BACKOFF.hold(exc):  # a full disk: waited, reported once a minute
                message.requeue()
                return
            # The store failed under us: leave the message for another delivery.
            log.exception("job %s could not be processed; message requeued", job_id)
            message.requeue()
            time.sleep(1)
            return
        finally:
            self.last_tick = time.monotonic()
        self.jobs_done += 1
        BACKOFF.clear()
        message.ack()
        record_job(self.services, job_id, outcome)


class Worker:
    """`concurrency` consumer threads + lease keeper + reaper + watchdog, in one process."""

    def __init__(
        self,
        services: "Services",
        queue_names: list[str] | None = None,
        concurrency: int | None = None,
        handlers: dict[str, Handler] | None = None,
        notifier: Notifier | None = None,
        run_reaper: bool = True,
    ):
        self.services = services
        cfg = services.config.worker
        self.queue_names = list(queue_names or cfg.queues)
        self.handlers = handlers if handlers is not None else default_handlers()
        self.notifier = notifier or Notifier()
        base_id = f"{socket.gethostname()}:{os.getpid()}"
        self.consumers = [
            QueueConsumer(services, self.queue_names, self.handlers, f"{base_id}:{i}",
                          services.broker.connection())
            for i in range(concurrency or cfg.concurrency)
        ]
        self.threads: list[threading.Thread] = []
        self.reaper = Reaper(services) if run_reaper else None
        self.stop_event = threading.Event()

    # -- liveness -------------------------------------------------------------------------
    def alive(self) -> tuple[bool, str]:
        """True while every consumer loop is turning, or its job is within its time limit."""
        now = time.monotonic()
        timeout = self.services.config.worker.job_timeout_seconds
        for consumer in self.consumers:
            job, started = consumer.running.snapshot()
            if job is not None:
                if now - started > timeout:
                    return False, f"job {job.id} ({job.type}) stuck for {now - started:.0f}s"
                continue
            if now - consumer.last_tick > 30:
                return False, f"{consumer.worker_id} consume loop silent for {now - consumer.last_tick:.0f}s"
        return True, ""

    def status_line(self) -> str:
        busy = []
        for consumer in self.consumers:
            job, _ = consumer.running.snapshot()
            if job is not None:
                current = self.services.store.jobs.get(job.id)
                pct = f" {current.progress}%" if current else ""
                busy.append(f"running {job.type} job {job.id[:8]}{pct}")
        if busy:
            return "; ".join(busy)
        if not all(c.consuming.is_set() for c in self.consumers):
            return "waiting for the broker"
        return f"idle — {len(self.queue_names)} queues"

    def _keep_leases(self) -> None:
        """Renews the lease of each running job until it passes the job time limit."""
        cfg = self.services.config.worker
        period = max(cfg.lease_seconds / 3, 0.5)
        while not self.stop_event.wait(period):
            now = time.monotonic()
            for consumer in self.consumers:
                job, started = consumer.running.snapshot()
                if job is not None and now - started <= cfg.job_timeout_seconds:
                    try:
                        self.services.store.jobs.heartbeat(job.id, consumer.worker_id, cfg.lease_seconds,
                                                           time.time())
                    except Exception:
                        log.exception("could not renew the lease of job %s", job.id)

    def _watchdog(self) -> None:
        interval = watchdog_interval()
        period = interval if interval else 5.0
        ready_sent = False
        while not self.stop_event.wait(min(period, 1.0) if not ready_sent else period):
            if not ready_sent and all(c.consuming.is_set() for c in self.consumers):
                self.notifier.ready(self.status_line())
                ready_sent = True
            ok, why = self.alive()
            if ok:
                if interval:
                    self.notifier.watchdog()
                self.notifier.status(self.status_line())
            else:
                log.error("worker is not healthy, withholding the watchdog ping: %s", why)
                self.notifier.status(f"unhealthy: {why}")

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        for consumer in self.consumers:
            t = threading.Thread(target=consumer.run, name=consumer.worker_id, daemon=True)
            t.start()
            self.threads.append(t)
        for target, name in ((self._keep_leases, "lease-keeper"), (self._watchdog, "watchdog")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
        if self.reaper:
            self.reaper.start()

    def wait_ready(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        for consumer in self.consumers:
            if not consumer.consuming.wait(max(deadline - time.monotonic(), 0)):
                return False
        return True

    def stop(self, timeout: float | None = None) -> None:
        """Let the running jobs finish, then stop consuming."""
        self.notifier.stopping("finishing the current job, then stopping")
        for consumer in self.consumers:
            consumer.should_stop = True
        for t in self.threads:
            t.join(timeout)
        self.stop_event.set()
        if self.reaper:
            self.reaper.stop()
        for consumer in self.consumers:
            try:
                consumer.connection.release()
            except Exception:  # noqa: BLE001
                pass

    def run_forever(self) -> None:
        """Run until SIGTERM/SIGINT; the current job finishes, then exit."""
        stopping = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            log.info("signal %d received: stopping after the current job", signum)
            stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        while not stopping.wait(0.5):
            if not any(t.is_alive() for t in self.threads):
                log.error("every consumer thread has stopped")
                break
        self.stop()
