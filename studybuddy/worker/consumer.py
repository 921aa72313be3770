"""The worker: kombu consumers of the job queues, a lease keeper, the reaper and the watchdog."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

from kombu import Connection
from kombu.mixins import ConsumerMixin

from ..jobs.reaper import Reaper
from ..metrics.jobs import record_job
from ..store.models import Job
from ..systemd import Notifier, watchdog_interval
from .diskfull import BACKOFF
from .handlers import default_handlers
from .runner import TIME_LIMIT_MESSAGE, Handler, RunningJob, process_job, time_limit_seconds

if TYPE_CHECKING:
    from ..services import Services

log = logging.getLogger(__name__)


# While a job runs, the consumer loop waits this long at a time for it to end, then reads what
# the broker sent (heartbeats) and sends its own, so the connection stays alive.
BUSY_POLL_SECONDS = 0.25
FRAME_POLL_SECONDS = 0.01


@dataclass
class Delivery:
    """One message being worked on: its job runs in a thread of its own."""

    message: Any
    job_id: str
    running: RunningJob = field(default_factory=RunningJob)
    done: threading.Event = field(default_factory=threading.Event)
    outcome: str = ""
    thread: threading.Thread | None = None
    abandoned_at: float = 0.0
    retry_at: float = 0.0  # monotonic time to claim again (the job's holder may have died)
    retried: bool = False
    next_look: float = 0.0


class QueueConsumer(ConsumerMixin):
    """One consuming connection over the given queues, holding at most one unacked message.

    The job runs in a thread of its own while this loop keeps the connection alive (AMQP
    heartbeats), acks the message when the job is done and stops a job that runs past its
    time limit."""

    def __init__(
        self,
        services: "Services",
        queue_names: list[str],
        handlers: dict[str, Handler],
        worker_id: str,
        connection: Connection,
        on_connected: Callable[[], None] | None = None,
        on_held: Callable[[float], None] | None = None,
    ):
        self.services = services
        self.connection = connection
        self.queue_names = queue_names
        self.handlers = handlers
        self.worker_id = worker_id
        self.running = RunningJob()
        self.current: Delivery | None = None
        self.abandoned: list[Delivery] = []
        self.on_connected = on_connected
        self.on_held = on_held
        self.last_tick = time.monotonic()
        self.consuming = threading.Event()
        self.jobs_done = 0

    def get_consumers(self, Consumer: Any, channel: Any) -> list[Any]:
        # A channel-wide limit (global QoS): one unacked message across all the queues, not one
        # per queue, so a hung worker holds one job per consumer thread, not six.
        channel.basic_qos(0, 1, True)
        queues = [self.services.broker.queues[name] for name in self.queue_names]
        return [Consumer(queues=queues, callbacks=[self.on_message], accept=["json"],
                         on_decode_error=self.on_bad_message)]

    def on_consume_ready(self, connection: Any, channel: Any, consumers: Any, **kwargs: Any) -> None:
        self.consuming.set()
        log.info("%s consuming %s", self.worker_id, ", ".join(self.queue_names))
        if self.on_connected is not None:
            self.on_connected()

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        self.consuming.clear()
        log.warning("broker connection lost (%s); reconnecting in %.0fs", exc, interval)

    def consume(self, limit: int | None = None, timeout: float | None = None, safety_interval: float = 1,
                **kwargs: Any) -> Iterator[None]:
        """The consume loop: short waits while a job runs; on stop, the running job finishes first."""
        with self.consumer_context(**kwargs) as (conn, _channel, _consumers):
            while not self.should_stop or self.current is not None:
                self.on_iteration()
                delivery = self.current
                wait = safety_interval
                if delivery is not None:
                    # No message comes while one is unacked: wait for the job itself (the ack
                    # goes out the moment it ends), reading only heartbeats in between.
                    if not delivery.retry_at and delivery.done.wait(BUSY_POLL_SECONDS):
                        continue
                    wait = FRAME_POLL_SECONDS
                try:
                    conn.drain_events(timeout=wait)
                except socket.timeout:
                    conn.heartbeat_check()
                except OSError:
                    if not self.should_stop:
                        raise
                    self._wait_for_current()
                else:
                    yield

    def _wait_for_current(self) -> None:
        """Stopping without a connection: let the running job end before leaving."""
        while self.current is not None:
            self.on_iteration()
            time.sleep(BUSY_POLL_SECONDS)

    def on_iteration(self) -> None:
        self.last_tick = time.monotonic()
        if self.abandoned:
            self.abandoned = self.stuck_handlers()
        delivery = self.current
        if delivery is None:
            return
        if delivery.retry_at:
            if self.should_stop:
                self._finish_message(delivery, requeue=True)
            elif time.monotonic() >= delivery.retry_at or self._holder_let_go(delivery):
                delivery.retry_at = 0.0
                self._start(delivery)
            return
        if delivery.done.is_set():
            self._settle(delivery)
            return
        job, started = delivery.running.snapshot()
        if job is not None and time.monotonic() - started > time_limit_seconds(self.services.config.worker,
                                                                                  job.type):
            self._stop_overrun(delivery, job)

    def on_bad_message(self, message: Any, exc: Exception) -> None:
        log.error("dropped a message that is not JSON (%s)", type(exc).__name__)
        message.reject()

    def on_message(self, body: Any, message: Any) -> None:
        job_id = body.get("job_id") if isinstance(body, dict) else None
        if not isinstance(job_id, str) or not job_id:
            log.error("dropped a message without a job id: %.80r", body)
            message.ack()
            return
        if self.current is not None:
            # Reconnected while a job of the old connection still runs: not two jobs at once.
            message.requeue()
            time.sleep(1)
            return
        self._start(Delivery(message, job_id))

    def _start(self, delivery: Delivery) -> None:
        delivery.running = RunningJob()
        delivery.done.clear()
        self.running = delivery.running
        delivery.thread = threading.Thread(target=self._run, args=(delivery,), name=f"{self.worker_id}:job",
                                           daemon=True)
        self.current = delivery
        delivery.thread.start()

    def _run(self, delivery: Delivery) -> None:
        try:
            delivery.outcome = process_job(self.services, delivery.job_id, self.worker_id, self.handlers,
                                           delivery.running)
        except Exception as exc:
            # A full disk: waited (in this thread, the connection stays alive), reported once a
            # minute. Else the store failed under us. Either way the message goes back.
            if not BACKOFF.hold(exc):
                log.exception("job %s could not be processed; message requeued", delivery.job_id)
                time.sleep(1)
            delivery.outcome = "error"
        finally:
            delivery.done.set()

    def _finish_message(self, delivery: Delivery, requeue: bool = False) -> None:
        self.current = None
        try:
            if requeue:
                delivery.message.requeue()
            else:
                delivery.message.ack()
        except Exception as exc:  # noqa: BLE001 - the connection went away while the job ran
            log.warning("could not settle the message of job %s (%s); the broker delivers it again and "
                        "that delivery does nothing", delivery.job_id, exc)

    def _settle(self, delivery: Delivery) -> None:
        outcome = delivery.outcome
        if outcome == "held" and not delivery.retried and self._hold_until_lease_ends(delivery):
            return
        self._finish_message(delivery, requeue=outcome == "error")
        if outcome == "error":
            return
        self.jobs_done += 1
        BACKOFF.clear()
        record_job(self.services, delivery.job_id, outcome)
        if outcome == "held" and self.on_held is not None:
            # Another worker holds the job; if it has died, its lease runs out soon: look then.
            job = self.services.store.jobs.get(delivery.job_id)
            if job is not None and job.lease_expires_at is not None:
                self.on_held(job.lease_expires_at + 0.1)

    def _hold_until_lease_ends(self, delivery: Delivery) -> bool:
        """A delivery for a job another worker holds: if that worker died (RabbitMQ hands its
        message on at once), its lease runs out within one lease. Keep the message and its place
        in the queue until then and claim the job; a live holder renews, and the retry finds it
        held again and lets the message go."""
        job = self.services.store.jobs.get(delivery.job_id)
        if job is None or job.state != "running" or job.lease_expires_at is None:
            return False
        wait = job.lease_expires_at + 0.05 - time.time()
        if wait > self.services.config.worker.lease_seconds + 1:
            return False
        delivery.retried = True
        delivery.retry_at = time.monotonic() + max(wait, 0.0)
        return True

    def _holder_let_go(self, delivery: Delivery) -> bool:
        """Once a second while waiting: has the job stopped running (finished, given back)?"""
        now = time.monotonic()
        if now < delivery.next_look:
            return False
        delivery.next_look = now + 1.0
        job = self.services.store.jobs.get(delivery.job_id)
        return job is None or job.state != "running"

    def _stop_overrun(self, delivery: Delivery, job: Job) -> None:
        """Fail a job past its time limit and move on; its handler's later writes are fenced off."""
        limit = time_limit_seconds(self.services.config.worker, job.type)
        delivery.running.timed_out = True
        delivery.abandoned_at = time.monotonic()
        self.abandoned.append(delivery)
        failed = self.services.store.jobs.finish(
            job.id, job.lease_token, "failed", time.time(), error_user=TIME_LIMIT_MESSAGE,
            error_internal=f"ran past its time limit of {limit:.0f}s")
        if failed:
            log.error("job %s (%s) ran past its time limit of %.0fs: failed; its handler is left behind",
                      job.id, job.type, limit)
        self._finish_message(delivery)
        record_job(self.services, job.id, "failed" if failed else "timed_out")

    def stuck_handlers(self) -> list[Delivery]:
        """Handlers stopped at their time limit that have not returned yet."""
        return [d for d in list(self.abandoned) if not d.done.is_set()]


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
        self.reaper = Reaper(services) if run_reaper else None
        self.consumers = [
            QueueConsumer(services, self.queue_names, self.handlers, f"{base_id}:{i}",
                          services.broker.connection(heartbeat=cfg.amqp_heartbeat_seconds),
                          on_connected=self.reaper.wake if self.reaper else None,
                          on_held=self.reaper.wake if self.reaper else None)
            for i in range(concurrency or cfg.concurrency)
        ]
        self.threads: list[threading.Thread] = []
        self.stop_event = threading.Event()

    # -- liveness -------------------------------------------------------------------------
    def alive(self) -> tuple[bool, str]:
        """True while every consumer loop is turning and no handler is stuck past its time limit."""
        now = time.monotonic()
        for consumer in self.consumers:
            for stuck in consumer.stuck_handlers():
                job, _ = stuck.running.snapshot()
                what = f"job {job.id} ({job.type})" if job is not None else f"job {stuck.job_id}"
                return False, f"{what} stuck {now - stuck.abandoned_at:.0f}s past its time limit"
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
        """Renews the lease of each running job every `worker.lease_renew_seconds`."""
        cfg = self.services.config.worker
        while not self.stop_event.wait(cfg.lease_renew_seconds):
            self.renew_leases()

    def renew_leases(self) -> int:
        """One round of lease renewals; returns how many leases were renewed."""
        cfg = self.services.config.worker
        renewed = 0
        for consumer in self.consumers:
            delivery = consumer.current
            if delivery is None or delivery.running.timed_out or delivery.running.lost:
                continue
            job, _ = delivery.running.snapshot()
            if job is None:
                continue
            try:
                if self.services.store.jobs.heartbeat(job.id, job.lease_token, cfg.lease_seconds, time.time()):
                    renewed += 1
                else:
                    # Taken over or cancelled: the handler finds out at its next write.
                    delivery.running.lost = True
                    log.info("job %s (%s) is no longer this worker's (lease lost or cancelled)", job.id, job.type)
            except Exception:
                log.exception("could not renew the lease of job %s", job.id)
        return renewed

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
