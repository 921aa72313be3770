"""Prometheus metrics with the official client (prometheus_client).

The web, the worker and the monitor are separate processes, so each measures what happens in it
and serves its own metrics on a loopback listener (`metrics.host`, `metrics.<role>_port`):

- web: HTTP requests by route, method and status, with latency histograms;
- worker: jobs by type and outcome, their run time and queue wait; AI calls by provider and
  outcome, and each provider's circuit state;
- monitor: the installation as a whole, read when scraped: queue depths and consumers, jobs by
  state, the monitor's checks and open incidents.

The metric objects below live in prometheus_client's default registry, declared once here as
the client intends; they hold numbers only and touch nothing at import time.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram, Info, start_http_server

from ..config import Config

log = logging.getLogger(__name__)

ROLES = ("web", "worker", "monitor")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)

BUILD = Info("studybuddy_build", "The StudyBuddy version and the role of this process.")

HTTP_REQUESTS = Counter("studybuddy_http_requests", "HTTP requests answered by the web.",
                        ["route", "method", "status"])
HTTP_DURATION = Histogram("studybuddy_http_request_duration_seconds", "Time to answer an HTTP request.",
                          ["route", "method"], buckets=LATENCY_BUCKETS)

JOBS = Counter("studybuddy_jobs_processed", "Job deliveries the worker processed, by job type and outcome "
               "(succeeded, failed, dead, retry, skipped).", ["type", "outcome"])
JOB_DURATION = Histogram("studybuddy_job_duration_seconds", "Run time of a job attempt.", ["type"],
                         buckets=JOB_BUCKETS)
JOB_QUEUE_WAIT = Histogram("studybuddy_job_queue_wait_seconds",
                           "Time a job waited, once due, before a worker started it.", ["type"],
                           buckets=JOB_BUCKETS)

AI_CALLS = Counter("studybuddy_ai_calls", "Calls to AI providers, by provider, tool and outcome "
                   "(ok, unavailable, bad_output, error).", ["provider", "tool", "outcome"])
AI_DURATION = Histogram("studybuddy_ai_call_duration_seconds", "Time an AI provider took to answer.",
                        ["provider"], buckets=LATENCY_BUCKETS + (60.0, 120.0))


def serve_metrics(config: Config, role: str, version: str) -> int:
    """Serve this process's metrics on its loopback listener; returns the port (0: none).

    A port that is taken costs the metrics, never the service."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    BUILD.info({"version": version, "role": role})
    port = int(getattr(config.metrics, f"{role}_port"))
    if not port:
        return 0
    host = config.metrics.host
    try:
        server, _thread = start_http_server(port, addr=host)
    except OSError as exc:
        log.warning("metrics: cannot listen on %s:%d (%s); choose another metrics.%s_port", host, port,
                    exc.strerror or exc, role)
        return 0
    bound = int(server.server_address[1])
    log.info("metrics for Prometheus on http://%s:%d/metrics", host, bound)
    return bound
