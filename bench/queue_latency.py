"""Submit-to-handler-start latency through our job layer on RabbitMQ, next to a bare kombu
publish-to-consume round trip measured in the same run. Prints medians, p95 and the ratio.

The embedded default (`studybuddy run`, the in-process `memory://` broker) is measured the same
way, next to kombu's stock memory transport (which polls once a second when idle).

Usage: python bench/queue_latency.py [--samples N] [--url amqp://...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from kombu import Connection, Exchange, Queue

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studybuddy.config import load_config  # noqa: E402
from studybuddy.jobs import submit_job  # noqa: E402
from studybuddy.jobs.broker import make_exchange, make_queues  # noqa: E402
from studybuddy.services import Services  # noqa: E402
from studybuddy.worker.consumer import Worker  # noqa: E402


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def bare_kombu(url: str, samples: int, idle: float = 0.0, drain: float = 0.2) -> list[float]:
    """Publish one persistent JSON message, wait until a consumer on another connection has it."""
    name = f"bench-bare-{uuid.uuid4().hex[:8]}"
    exchange = Exchange(name, type="direct", durable=True)
    queue = Queue(name, exchange=exchange, routing_key=name, durable=True)
    got = threading.Event()
    received: list[float] = []
    stop = threading.Event()

    def consume() -> None:
        with Connection(url) as conn:
            def on_message(body: object, message: object) -> None:
                received.append(time.perf_counter())
                message.ack()  # type: ignore[attr-defined]
                got.set()

            with conn.Consumer(queue, callbacks=[on_message], accept=["json"], prefetch_count=1):
                ready.set()
                while not stop.is_set():
                    try:
                        conn.drain_events(timeout=drain)
                    except TimeoutError:
                        pass

    ready = threading.Event()
    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    ready.wait(10)
    out: list[float] = []
    with Connection(url, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer(serializer="json")
        for _ in range(samples):
            time.sleep(idle)
            got.clear()
            t0 = time.perf_counter()
            producer.publish({"job_id": "x"}, exchange=exchange, routing_key=name, delivery_mode=2,
                             declare=[queue])
            got.wait(10)
            out.append(received[-1] - t0)
    stop.set()
    thread.join(5)
    with Connection(url) as conn:
        queue.bind(conn.channel()).delete()
        exchange.bind(conn.channel()).delete()
    return out


def ours(url: str, samples: int, idle: float = 0.0) -> list[float]:
    """submit_job (record + publish) until the handler starts, through a real Worker."""
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"bench-{uuid.uuid4().hex[:8]}."
        cfg = load_config(env={}).replace(
            app={"state_dir": tmp}, web={"secret_key": "bench"},
            broker={"url": url, "queue_prefix": prefix},
        )
        services = Services(cfg)
        started: dict[str, float] = {}
        seen = threading.Event()

        def handler(ctx: object) -> str:
            started[ctx.job.id] = time.perf_counter()  # type: ignore[attr-defined]
            seen.set()
            return "ok"

        worker = Worker(services, handlers={"ping": handler}, run_reaper=False)
        worker.start()
        worker.wait_ready(20)
        out: list[float] = []
        for _ in range(samples):
            time.sleep(idle)
            seen.clear()
            t0 = time.perf_counter()
            job = submit_job(services, "ping", "bench", params={"queue": "summarize"})
            seen.wait(10)
            out.append(started[job.id] - t0)
            # Let the worker finish and ack before the next sample.
            while services.store.jobs.get(job.id).state == "running":  # type: ignore[union-attr]
                time.sleep(0.001)
        worker.stop(10)
        with Connection(url) as conn:
            channel = conn.channel()
            for queue in make_queues(prefix).values():
                queue.bind(channel).delete()
            make_exchange(prefix).bind(channel).delete()
        services.close()
        return out


def memory(samples: int) -> None:
    """The embedded default: our memory:// next to kombu's stock memory transport, interleaved."""
    ours("memory://", 5)
    stock: list[float] = []
    ours_: list[float] = []
    for _ in range(2):
        stock += bare_kombu("memory://", samples // 2, idle=0.05, drain=1.0)  # as ConsumerMixin drains
        ours_ += ours("memory://", samples // 2, idle=0.05)
    sm, om = statistics.median(stock) * 1000, statistics.median(ours_) * 1000
    print(f"stock kombu memory:// publish->consume: median {sm:.2f} ms  p95 {p95(stock) * 1000:.2f} ms  "
          f"(n={len(stock)})")
    print(f"studybuddy memory:// submit->handler:   median {om:.2f} ms  p95 {p95(ours_) * 1000:.2f} ms  "
          f"(n={len(ours_)})  ratio {om / sm:.3f}x stock   aim: median <= 20 ms -> "
          f"{'met' if om <= 20 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--memory-samples", type=int, default=30)
    args = parser.parse_args()
    memory(args.memory_samples)
    # Warm up both paths, then interleave rounds so machine noise hits both alike.
    bare_kombu(args.url, 10)
    ours(args.url, 10)
    bare: list[float] = []
    ours_: list[float] = []
    for _ in range(2):
        bare += bare_kombu(args.url, args.samples // 2)
        ours_ += ours(args.url, args.samples // 2)
    bm, om = statistics.median(bare) * 1000, statistics.median(ours_) * 1000
    bp, op = p95(bare) * 1000, p95(ours_) * 1000
    target = 1.5 * bm + 5
    print(f"bare kombu publish->consume: median {bm:.2f} ms  p95 {bp:.2f} ms  (n={len(bare)})")
    print(f"studybuddy submit->handler:  median {om:.2f} ms  p95 {op:.2f} ms  (n={len(ours_)})")
    print(f"ratio (median ours / bare):  {om / bm:.2f}x   aim: median <= 1.5 x bare + 5 ms = {target:.2f} ms "
          f"-> {'met' if om <= target else 'NOT met'}")


if __name__ == "__main__":
    main()
