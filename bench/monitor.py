"""One full monitor probe round: its duration and each probe's latency, and the canary's end-to-end
time next to a bare broker round trip measured in the same run (medians; the ratio is the figure).

A real worker consumes RabbitMQ (or memory:// with --url memory://), a real waitress server
serves the web app, and the monitor runs its real probes against both.

Usage: python bench/monitor.py [--rounds N] [--url amqp://...]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from kombu import Connection, Exchange, Queue

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studybuddy.config import QUEUE_NAMES, load_config
from studybuddy.jobs.broker import make_queues
from studybuddy.monitor.service import Monitor
from studybuddy.services import Services
from studybuddy.worker.consumer import Worker
from studybuddy.worker.handlers import default_handlers

CHECKS = ["store", "broker", "jobs", "disk", "version", "web", "canary", "upload", "ai", "units"]


def bare_round_trip(url: str, samples: int) -> list[float]:
    """Publish a persistent JSON message and consume it on another connection, one at a time."""
    name = f"bench-monitor-bare-{uuid.uuid4().hex[:8]}"
    exchange = Exchange(name, type="direct", durable=False, auto_delete=True)
    queue = Queue(name, exchange=exchange, routing_key=name, durable=False, auto_delete=True)
    times: list[float] = []
    with Connection(url) as producer_conn, Connection(url) as consumer_conn:
        got = threading.Event()

        def on_message(body: object, message: object) -> None:
            message.ack()  # type: ignore[attr-defined]
            got.set()

        producer = producer_conn.Producer(serializer="json")
        with consumer_conn.Consumer(queue, callbacks=[on_message], accept=["json"], prefetch_count=1):
            for _ in range(samples):
                got.clear()
                started = time.perf_counter()
                producer.publish({"job_id": "x"}, exchange=exchange, routing_key=name, delivery_mode=2,
                                 declare=[queue])
                while not got.is_set():
                    consumer_conn.drain_events(timeout=5)
                times.append(time.perf_counter() - started)
    return times


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672//")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    from studybuddy.web import create_app
    from studybuddy.web.serve import serve

    state = tempfile.mkdtemp(prefix="bench-monitor-")
    port = free_port()
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    cfg = load_config(env={}).replace(
        app={"state_dir": state},
        web={"secret_key": "bench-secret-key", "port": port},
        broker={"url": args.url, "queue_prefix": prefix},
        monitor={"web_url": f"http://127.0.0.1:{port}", "account_password": "bench monitor password",
                 "canary_timeout_seconds": 30.0, "upload_timeout_seconds": 60.0,
                 "systemctl": shutil.which("true") or "/bin/true"},
        ai={name: ["local"] for name in ("summary", "homework", "flashcards", "quiz", "glossary", "chat")},
    )
    services = Services(cfg)
    worker = Worker(services, handlers=default_handlers(), run_reaper=False)
    worker.start()
    if not worker.wait_ready(20):
        print("the worker could not connect to the broker", file=sys.stderr)
        return 1
    app = create_app(cfg, services)
    threading.Thread(target=serve, args=(app, "127.0.0.1", port), kwargs={"threads": 4}, daemon=True).start()
    time.sleep(0.5)

    monitor = Monitor(services, checks=CHECKS, host="bench")
    bare = bare_round_trip(args.url, max(20, args.rounds * 6))
    rounds = []
    per_check: dict[str, list[float]] = {name: [] for name in CHECKS}
    canary: list[float] = []
    statuses: dict[str, str] = {}
    for _ in range(args.rounds):
        outcome = monitor.run_round()
        rounds.append(outcome.duration)
        for name, seconds in outcome.timings.items():
            per_check[name].append(seconds)
        for r in outcome.results:
            statuses[r.key] = r.status
            if r.name == "canary:latency" and r.status == "pass":
                canary.append(float(r.observed_value) / 1000)
    worker.stop(timeout=10)
    with Connection(args.url) as conn:
        channel = conn.default_channel
        for queue in make_queues(prefix).values():
            with contextlib.suppress(Exception):  # memory:// or already gone
                queue.bind(channel).delete()
    services.close()
    shutil.rmtree(state, ignore_errors=True)

    failing = sorted(k for k, s in statuses.items() if s == "fail")
    print(f"monitor round ({args.rounds} rounds, broker {args.url.split('@')[-1]}): "
          f"median {statistics.median(rounds) * 1000:.1f} ms, max {max(rounds) * 1000:.1f} ms")
    for name in CHECKS:
        print(f"  probe {name:<8} median {statistics.median(per_check[name]) * 1000:8.1f} ms")
    bare_ms = statistics.median(bare) * 1000
    if canary:
        canary_ms = statistics.median(canary) * 1000
        print(f"canary end to end (ping job, {len(canary)} samples over {len(QUEUE_NAMES)} queues): "
              f"median {canary_ms:.1f} ms")
        print(f"bare broker round trip ({len(bare)} samples): median {bare_ms:.2f} ms")
        print(f"canary / bare broker round trip: {canary_ms / bare_ms:.1f}x")
    else:
        print(f"canary: no successful sample; bare broker round trip median {bare_ms:.2f} ms")
    if failing:
        print(f"failing checks: {', '.join(failing)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
