"""Fault drills as a benchmark: two real worker processes on the real RabbitMQ and one SQLite
store, N jobs a drill, and a fault in the middle (tests/faults/cluster.py runs the processes).

Per drill one line: submitted / done / failed / lost / duplicated / time to drain, and for the
hang and kill drills the takeover time (fault -> the job's next attempt starts) and the time
until the victim's job completed. A calm run with no fault is the baseline measured in the same
run: each drill's drain time is shown as a ratio to it. The aim is 0 lost and 0 duplicated.

Usage: python bench/faults.py [--jobs N] [--sleep S] [--url amqp://...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.faults.cluster import DRILL_WORKER, Cluster, DrillResult  # noqa: E402
from tests.helpers.rabbit import rabbit_config  # noqa: E402

Fault = Callable[[Cluster], tuple[float, list[str]]]


def calm(cluster: Cluster) -> tuple[float, list[str]]:
    return 0.0, []


def _victim_jobs(cluster: Cluster, pid: int) -> list[str]:
    worker = cluster.worker_by_pid(pid)
    assert worker is not None
    return [j for j in cluster.jobs_started_by(worker)
            if (job := cluster.services.store.jobs.get(j)) is not None and job.state == "running"]


def pause(cluster: Cluster) -> tuple[float, list[str]]:
    """Drill 1: SIGSTOP a worker mid-job for three leases, then SIGCONT."""
    victim = cluster.worker_running_a_job()
    victim.stop()
    at = time.time()
    held = _victim_jobs(cluster, victim.pid)
    time.sleep(3 * float(cluster.cfg.worker.lease_seconds))
    victim.cont()
    return at, held


def hang(cluster: Cluster) -> tuple[float, list[str]]:
    """Drill 2: SIGSTOP a worker and leave it hung until the jobs have drained."""
    victim = cluster.worker_running_a_job()
    victim.stop()
    return time.time(), _victim_jobs(cluster, victim.pid)


def kill(cluster: Cluster) -> tuple[float, list[str]]:
    """Drill 3: SIGKILL a worker mid-job."""
    victim = cluster.worker_running_a_job()
    at = time.time()
    victim.kill()
    return at, _victim_jobs(cluster, victim.pid)


def run_drill(url: str, fault: Fault, jobs: int, sleep: float) -> tuple[DrillResult, float, list[float], list[float]]:
    with tempfile.TemporaryDirectory() as tmp, rabbit_config(Path(tmp), url, label="bench-faults") as cfg:
        with Cluster(Path(tmp), cfg) as cluster:
            cluster.start_workers(2)
            cluster.submit(jobs, sleep=sleep)
            cluster.wait_running(2)
            at, held = fault(cluster)
            result = cluster.wait_drained(timeout=300, settle=sleep + 2)
            takeovers = [result.starts[j][-1][2] - at for j in held if len(result.starts.get(j, [])) > 1]
            completed = [result.finished_at[j] - at for j in held if j in result.finished_at]
            return result, at, takeovers, completed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--sleep", type=float, default=0.5, help="seconds each job works")
    parser.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672//")
    args = parser.parse_args()
    lease = float(DRILL_WORKER["lease_seconds"])
    print(f"2 worker processes, {args.jobs} jobs of {args.sleep:.1f} s a drill, lease {lease:.0f} s "
          f"(renewed every {DRILL_WORKER['lease_renew_seconds']} s), AMQP heartbeat "
          f"{DRILL_WORKER['amqp_heartbeat_seconds']} s")
    baseline, _, _, _ = run_drill(args.url, calm, args.jobs, args.sleep)
    print(baseline.line("calm (baseline)"))
    for name, fault in (("drill 1 pause past lease", pause), ("drill 2 hung worker", hang),
                        ("drill 3 killed worker", kill)):
        result, _, takeovers, completed = run_drill(args.url, fault, args.jobs, args.sleep)
        extra = f" ({result.drain_seconds / baseline.drain_seconds:.2f}x calm)"
        if fault is not pause:
            if takeovers:
                extra += f" / takeover median {statistics.median(takeovers):.1f} s"
            if completed:
                extra += f" / victim's job done {statistics.median(completed):.1f} s after the fault"
            else:
                extra += " / the victim held no running job"
        print(result.line(name, extra))
    print("aim: 0 lost, 0 duplicated; takeover within a lease + 10 s "
          f"({lease + 10:.0f} s) of a kill, within 30 s of a hang")


if __name__ == "__main__":
    main()
