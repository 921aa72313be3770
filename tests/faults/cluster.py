"""A small cluster for fault drills: N real worker processes on one config file (one SQLite store
file, one queue prefix on the real RabbitMQ), jobs submitted the way the web submits them, and
a count of what came out.

Use it as a context manager inside `rabbit_config` (tests/helpers/rabbit.py), which gives the
unique queue prefix and deletes the queues afterwards:

    with rabbit_config(tmp_path, rabbit_url, label="drill") as cfg:
        with Cluster(tmp_path, cfg, worker={"lease_seconds": 3, "lease_renew_seconds": 1}) as cluster:
            first, second = cluster.start_workers(2)
            jobs = cluster.submit(10, sleep=1.0)        # `ping` jobs that store an artifact each
            cluster.wait_running(1)                      # some job is running somewhere
            victim = cluster.worker_running_a_job()      # the worker (a WorkerProc) running one
            victim.stop()                                # SIGSTOP; .cont() SIGCONT; .kill() SIGKILL
            result = cluster.wait_drained(timeout=60)
            assert result.lost == 0 and result.duplicated == 0

`worker=` settings go into the `worker:` section of the shared config file (the processes and
this test's own `cluster.services` read the same values); `broker=` likewise, e.g. the URL of a
TCP proxy (tests/helpers/tcpproxy.py) to take the broker away. Jobs are `ping` jobs with
params `drill_sleep` and `log`: the worker processes (tests/jobs/worker_proc.py) run them with
the drill handler of tests/jobs/handlers.py, which logs each start
(`start <job> <attempt> <pid> <time>`), sleeps, stores an artifact and returns its id.
`submit(..., job_type=, params=)` submits other job types through `submit_job` as well.

A result (`DrillResult`) counts per submitted job: done (succeeded), failed (failed, dead or
cancelled), lost (not finished when the wait ended) and duplicated (jobs with more than one
stored result); `starts` and `finished_at` give the takeover times. Each worker's output is in
`WorkerProc.output()` (e.g. to count "lost its lease; result discarded").
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from studybuddy.accounts import create_user
from studybuddy.config import QUEUE_NAMES, Config
from studybuddy.jobs import submit_job
from studybuddy.services import Services
from studybuddy.store.models import Course, new_id

ROOT = Path(__file__).resolve().parents[2]

# Short leases and quick reaper passes, so a drill takes seconds rather than minutes.
DRILL_WORKER = {
    "lease_seconds": 3, "lease_renew_seconds": 1, "reaper_interval_seconds": 0.5,
    "retry_backoff_seconds": 0.2, "amqp_heartbeat_seconds": 2, "dispatch_grace_seconds": 5,
    "job_timeout_seconds": 120, "concurrency": 1,
}


class WorkerProc:
    """One worker process (python -m tests.jobs.worker_proc CONFIG)."""

    def __init__(self, index: int, config_path: Path, out_path: Path):
        self.index = index
        self.out_path = out_path
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.jobs.worker_proc", str(config_path)], cwd=ROOT, env=env,
            stdout=out_path.open("wb"), stderr=subprocess.STDOUT)
        self.stopped = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """SIGSTOP: the process hangs (no heartbeats, no lease renewals, no acks)."""
        os.kill(self.pid, signal.SIGSTOP)
        self.stopped = True

    def cont(self) -> None:
        os.kill(self.pid, signal.SIGCONT)
        self.stopped = False

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 30) -> int | None:
        """SIGTERM (after SIGCONT if stopped): the worker finishes its job and exits."""
        if not self.alive():
            return self.proc.returncode
        if self.stopped:
            self.cont()
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            return None

    def output(self) -> str:
        return self.out_path.read_text(errors="replace") if self.out_path.exists() else ""

    def ready(self) -> bool:
        return self.output().count(" consuming ") >= 1


@dataclass
class DrillResult:
    submitted: int
    done: int
    failed: int
    lost: int
    duplicated: int
    drain_seconds: float
    starts: dict[str, list[tuple[int, int, float]]] = field(default_factory=dict)  # job -> (attempt, pid, t)
    finished_at: dict[str, float] = field(default_factory=dict)

    def line(self, name: str, extra: str = "") -> str:
        return (f"{name}: submitted {self.submitted} / done {self.done} / failed {self.failed} / lost {self.lost} "
                f"/ duplicated {self.duplicated} / drained in {self.drain_seconds:.1f} s{extra}")


class Cluster:
    """N worker processes sharing one config file, store and queue prefix (see the module doc)."""

    def __init__(self, tmp_path: Path, cfg: Config, worker: dict[str, Any] | None = None,
                 broker: dict[str, Any] | None = None):
        self.tmp_path = tmp_path
        self.cfg = cfg.replace(worker={**DRILL_WORKER, **(worker or {})}, **({"broker": broker} if broker else {}))
        self.config_path = tmp_path / "cluster.yaml"
        self.config_path.write_text(yaml.safe_dump(self._config_document()))
        self.log_path = tmp_path / "drill-starts.log"
        self.services = Services(self.cfg)
        owner = create_user(self.services.store, f"drill-{new_id()[:8]}@example.com", "correct horse battery", "Drill")
        self.owner_id = owner.id
        self.course = self.services.store.courses.add(Course(id=new_id(), owner_id=owner.id, name="drill"))
        self.workers: list[WorkerProc] = []
        self.job_ids: list[str] = []
        self.submitted_at = 0.0

    def _config_document(self) -> dict[str, Any]:
        worker = {k: v for k, v in vars(self.cfg.worker).items() if k != "queues"}
        return {
            "app": {"state_dir": self.cfg.app.state_dir},
            "web": {"secret_key": "drill"},
            "storage": {"url": self.cfg.storage.url} if self.cfg.storage.url else {},
            "broker": {"url": self.cfg.broker.url, "queue_prefix": self.cfg.broker.queue_prefix,
                       "connect_timeout": self.cfg.broker.connect_timeout},
            "worker": worker,
        }

    # -- workers ------------------------------------------------------------------------------
    def start_workers(self, n: int, wait: float = 30) -> list[WorkerProc]:
        started = [self.start_worker(wait=0) for _ in range(n)]
        deadline = time.monotonic() + wait
        while wait and not all(w.ready() for w in started):
            if time.monotonic() > deadline:
                raise AssertionError("workers did not start consuming:\n" + "\n".join(w.output() for w in started))
            time.sleep(0.1)
        return started

    def start_worker(self, wait: float = 30) -> WorkerProc:
        index = len(self.workers)
        proc = WorkerProc(index, self.config_path, self.tmp_path / f"worker{index}.out")
        self.workers.append(proc)
        deadline = time.monotonic() + wait
        while wait and not proc.ready():
            if time.monotonic() > deadline or not proc.alive():
                raise AssertionError(f"worker {index} did not start consuming:\n{proc.output()}")
            time.sleep(0.1)
        return proc

    def worker_by_pid(self, pid: int) -> WorkerProc | None:
        return next((w for w in self.workers if w.pid == pid), None)

    def worker_running_a_job(self, timeout: float = 30, started_within: float = 0.2) -> WorkerProc:
        """A worker that has a submitted job running right now, started at most `started_within`
        seconds ago (so it is still in its job when the caller strikes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for job_id, attempts in self.starts().items():
                job = self.services.store.jobs.get(job_id)
                if job is not None and job.state == "running" and attempts and \
                        time.time() - attempts[-1][2] <= started_within:
                    attempt, pid, _ = attempts[-1]
                    worker = self.worker_by_pid(pid)
                    if attempt == job.attempts and worker is not None and worker.alive() and not worker.stopped:
                        return worker
            time.sleep(0.02)
        raise AssertionError("no worker is running a job")

    def jobs_started_by(self, worker: WorkerProc) -> list[str]:
        return [job_id for job_id, attempts in self.starts().items()
                if any(pid == worker.pid for _, pid, _ in attempts)]

    # -- jobs ---------------------------------------------------------------------------------
    def submit(self, n: int, sleep: float = 1.0, job_type: str = "ping", params: dict[str, Any] | None = None,
               spread: bool = True) -> list[str]:
        """Submit n jobs through submit_job (record, then publish), spread over the six queues."""
        if not self.submitted_at:
            self.submitted_at = time.monotonic()
        out = []
        for i in range(n):
            p = dict(params or {})
            if job_type == "ping":
                p.setdefault("drill_sleep", sleep)
                p.setdefault("log", str(self.log_path))
                p.setdefault("queue", QUEUE_NAMES[i % len(QUEUE_NAMES)] if spread else QUEUE_NAMES[0])
            job = submit_job(self.services, job_type, self.owner_id, course_id=self.course.id, params=p)
            out.append(job.id)
        self.job_ids += out
        return out

    def starts(self) -> dict[str, list[tuple[int, int, float]]]:
        found: dict[str, list[tuple[int, int, float]]] = {}
        if self.log_path.exists():
            for line in self.log_path.read_text().splitlines():
                parts = line.split()
                if len(parts) == 5 and parts[0] == "start":
                    found.setdefault(parts[1], []).append((int(parts[2]), int(parts[3]), float(parts[4])))
        return found

    def wait_running(self, n: int = 1, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.starts()) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {n} jobs started")
            time.sleep(0.02)

    def finished(self) -> int:
        return sum(1 for j in self.job_ids if (job := self.services.store.jobs.get(j)) is not None and job.finished)

    def result(self) -> DrillResult:
        states: Counter[str] = Counter()
        finished_at: dict[str, float] = {}
        for job_id in self.job_ids:
            job = self.services.store.jobs.get(job_id)
            states[job.state if job else "missing"] += 1
            if job is not None and job.finished_at:
                finished_at[job_id] = job.finished_at
        results = Counter(a.job_id for a in self.services.store.artifacts.list_for_course(self.course.id))
        return DrillResult(
            submitted=len(self.job_ids),
            done=states["succeeded"],
            failed=states["failed"] + states["dead"] + states["cancelled"],
            lost=len(self.job_ids) - sum(states[s] for s in ("succeeded", "failed", "dead", "cancelled")),
            duplicated=sum(1 for j in self.job_ids if results[j] > 1),
            drain_seconds=time.monotonic() - self.submitted_at if self.submitted_at else 0.0,
            starts=self.starts(),
            finished_at=finished_at,
        )

    def wait_drained(self, timeout: float = 120, settle: float = 1.0) -> DrillResult:
        """Wait until every submitted job finished (or the timeout), then a moment for late
        duplicates to show; returns the counts."""
        deadline = time.monotonic() + timeout
        while self.finished() < len(self.job_ids) and time.monotonic() < deadline:
            time.sleep(0.05)
        drained = time.monotonic()
        time.sleep(settle)
        result = self.result()
        result.drain_seconds = drained - self.submitted_at
        return result

    # -- teardown -----------------------------------------------------------------------------
    def close(self) -> None:
        for worker in self.workers:
            worker.terminate()
        self.services.close()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
