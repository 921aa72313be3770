"""The installation as a whole, read when Prometheus scrapes the monitor: queue depths and
consumers, jobs by state, the monitor's checks and its open incidents.

One monitor runs per installation, so these figures are exported once, not by every web or
worker host."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..checks import STATUSES, CheckResult

if TYPE_CHECKING:
    from ..services import Services

log = logging.getLogger(__name__)

INCIDENT_STATES = ("failing", "escalated")
FAMILIES: dict[str, tuple[str, list[str]]] = {
    "studybuddy_broker_up": ("1 when the broker answered this scrape.", []),
    "studybuddy_queue_messages": ("Messages waiting in each job queue.", ["queue"]),
    "studybuddy_queue_consumers": ("Consumers of each job queue.", ["queue"]),
    "studybuddy_jobs": ("Jobs in the store by state.", ["state"]),
    "studybuddy_check_status": ("Each check's result at the monitor's last round: 0 pass, 1 warn, 2 fail.",
                                ["check"]),
    "studybuddy_check_timestamp_seconds": ("When each check last ran (Unix time).", ["check"]),
    "studybuddy_incidents_open": ("Open incidents by state.", ["state"]),
}


def _family(name: str) -> GaugeMetricFamily:
    doc, labels = FAMILIES[name]
    return GaugeMetricFamily(name, doc, labels=labels)


class ClusterCollector(Collector):
    def __init__(self, services: Services):
        self.services = services

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The names, without reading anything (the registry asks when the collector is added)."""
        return (_family(name) for name in FAMILIES)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._broker()
        yield from self._jobs()
        yield from self._monitor()

    def _broker(self) -> Iterator[GaugeMetricFamily]:
        up, depth, consumers = (_family(n) for n in ("studybuddy_broker_up", "studybuddy_queue_messages",
                                                      "studybuddy_queue_consumers"))
        broker = self.services.broker
        try:
            # As the broker check does: the queues are declared first, so a passive look at a
            # queue nobody declared yet is not mistaken for a broker that is down.
            broker.ping()
            stats = broker.queue_stats()
        except Exception as exc:  # noqa: BLE001 - an unreachable broker is a figure, not an error
            log.info("metrics: broker unreachable: %s", exc)
            stats = None
        up.add_metric([], 0.0 if stats is None else 1.0)
        stats = stats or {}
        for queue, (messages, count) in sorted(stats.items()):
            depth.add_metric([queue], float(messages))
            if not broker.is_memory:  # the in-process transport does not count consumers
                consumers.add_metric([queue], float(count))
        yield from (up, depth, consumers)

    def _jobs(self) -> Iterator[GaugeMetricFamily]:
        family = _family("studybuddy_jobs")
        try:
            counts = self.services.store.jobs.count_by_state()
        except Exception as exc:  # noqa: BLE001
            log.info("metrics: store unreachable: %s", exc)
            return
        for state, count in sorted(counts.items()):
            family.add_metric([state], float(count))
        yield family

    def _monitor(self) -> Iterator[GaugeMetricFamily]:
        status, checked, incidents = (_family(n) for n in ("studybuddy_check_status",
                                                           "studybuddy_check_timestamp_seconds",
                                                           "studybuddy_incidents_open"))
        try:
            latest: dict[str, Any] = self.services.store.monitor.get_state("latest") or {}
            policy: dict[str, Any] = self.services.store.monitor.get_state("policy") or {}
        except Exception as exc:  # noqa: BLE001
            log.info("metrics: store unreachable: %s", exc)
            return
        for key, data in sorted(latest.items()):
            result = CheckResult.from_json(str(data.get("name", key)), data)
            level = STATUSES.index(result.status) if result.status in STATUSES else len(STATUSES) - 1
            status.add_metric([key], float(level))
            checked.add_metric([key], result.time)
        open_by_state = dict.fromkeys(INCIDENT_STATES, 0)
        for incident in (policy.get("incidents") or {}).values():  # one per root cause
            if isinstance(incident, dict) and incident.get("state") in open_by_state:
                open_by_state[incident["state"]] += 1
        for state, count in open_by_state.items():
            incidents.add_metric([state], float(count))
        yield from (status, checked, incidents)


def register_cluster_metrics(services: Services) -> ClusterCollector:
    """Export the installation's figures from this (the monitor's) process."""
    collector = ClusterCollector(services)
    REGISTRY.register(collector)
    return collector
