"""AI calls by provider and outcome, and each provider's circuit state, for Prometheus.

The router is measured from outside: each of its providers is wrapped in a `MeasuredProvider`,
and a collector reads the breakers' state when scraped (an open circuit turns half-open by the
clock alone, so a value set at call time would go stale)."""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..ai.base import ProviderBadOutput, ProviderUnavailable, ToolRequest, ToolResult
from ..ai.breaker import CLOSED, HALF_OPEN, OPEN
from . import AI_CALLS, AI_DURATION

if TYPE_CHECKING:
    from ..ai.router import Router

CIRCUIT_STATES = (CLOSED, HALF_OPEN, OPEN)


class MeasuredProvider:
    """A provider whose every call is counted and timed; everything else is the provider's."""

    def __init__(self, name: str, provider: Any):
        self.name = name
        self.provider = provider

    def run(self, request: ToolRequest) -> ToolResult:
        started = time.perf_counter()
        outcome = "error"
        try:
            result: ToolResult = self.provider.run(request)
            outcome = "ok"
            return result
        except ProviderUnavailable:
            outcome = "unavailable"
            raise
        except ProviderBadOutput:
            outcome = "bad_output"
            raise
        finally:
            AI_CALLS.labels(self.name, request.tool, outcome).inc()
            AI_DURATION.labels(self.name).observe(time.perf_counter() - started)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.provider, attribute)


_routers: weakref.WeakSet[Router] = weakref.WeakSet()


def measure_router(router: Router) -> Router:
    """Count and time the router's provider calls, and report its circuits; returns it."""
    for name, provider in list(router.providers.items()):
        if not isinstance(provider, MeasuredProvider):
            router.providers[name] = MeasuredProvider(name, provider)
    if not _registered:
        REGISTRY.register(CircuitCollector())
        _registered.append(True)
    _routers.add(router)
    return router


class CircuitCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("studybuddy_ai_circuit_state",
                                   "1 for the state each AI provider's circuit breaker is in.",
                                   labels=["provider", "state"])
        current: dict[str, str] = {}
        for router in list(_routers):
            for name, breaker in router.breakers.items():
                current[name] = breaker.state
        for name, state in sorted(current.items()):
            for candidate in CIRCUIT_STATES:
                family.add_metric([name, candidate], 1.0 if candidate == state else 0.0)
        yield family


_registered: list[bool] = []
