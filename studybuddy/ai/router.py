"""The "triple hybrid": each tool tries its providers in the configured order.

Per provider: retries with exponential backoff on 429/5xx/timeouts (honouring Retry-After,
and only while the request is within ``ai.retry_budget_seconds``),
no retry on authentication or request errors, a circuit breaker that skips a provider
after repeated failures. Invalid output is repaired once inside the provider; if it is still
invalid the router fails over. When every provider failed, AllProvidersFailed.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .base import (
    TOOLS,
    AllProvidersFailed,
    Provider,
    ProviderBadOutput,
    ProviderError,
    ProviderUnavailable,
    ToolRequest,
    ToolResult,
)
from .breaker import CircuitBreaker

if TYPE_CHECKING:
    from ..config import Config

log = logging.getLogger(__name__)


# Tools without an order of their own follow another tool's: grading follows the quiz, the
# study guide, FAQ and mind map follow the summary, and query translation follows chat.
ORDER_OF = {"quiz_grade": "quiz", "study_guide": "summary", "faq": "summary", "mind_map": "summary",
            "translate": "chat"}


def provider_order(config: Config, tool: str) -> list[str]:
    """The configured provider order for a tool."""
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}")
    order = list(getattr(config.ai, ORDER_OF.get(tool, tool)))
    return [name for name in order if name != "local"] if tool == "translate" else order


class Router:
    def __init__(
        self,
        config: Config,
        providers: dict[str, Provider],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.providers = dict(providers)
        self._clock = clock
        self._sleep = sleep
        self._random = random.Random()
        self._lock = threading.Lock()
        self.breakers: dict[str, CircuitBreaker] = {
            name: CircuitBreaker(
                name, config.ai.breaker_failures, config.ai.breaker_cooldown_seconds, clock=clock
            )
            for name in self.providers
        }

    def order_for(self, tool: str) -> list[str]:
        """The providers this router would try for a tool, in order (configured ones only)."""
        return [name for name in provider_order(self.config, tool) if name in self.providers]

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (0-based): exponential with jitter."""
        cap = self.config.ai.retry_backoff_max_seconds
        if retry_after is not None:
            return min(retry_after, cap)
        base = self.config.ai.retry_backoff_seconds * (2**attempt)
        with self._lock:
            jitter = self._random.uniform(0.5, 1.0)
        return min(cap, base * jitter)

    def _attempt_provider(
        self, name: str, request: ToolRequest, errors: dict[str, str], deadline: float
    ) -> ToolResult | None:
        provider = self.providers[name]
        breaker = self.breakers[name]
        tries = 1 + max(0, self.config.ai.max_retries)
        for attempt in range(tries):
            if not breaker.allow():
                errors.setdefault(name, "circuit open after repeated failures")
                log.info("skipping %s for %s: circuit open", name, request.tool)
                return None
            try:
                result = provider.run(request)
            except ProviderUnavailable as exc:
                breaker.record_failure()
                errors[name] = str(exc)
                delay = self.backoff(attempt, exc.retry_after)
                if attempt + 1 < tries and self._clock() + delay < deadline:
                    log.warning(
                        "%s unavailable for %s (%s); retry %d/%d in %.1fs",
                        name,
                        request.tool,
                        exc,
                        attempt + 1,
                        tries - 1,
                        delay,
                    )
                    self._sleep(delay)
                    continue
                log.warning("%s unavailable for %s (%s); giving up on it", name, request.tool, exc)
                return None
            except ProviderBadOutput as exc:
                # It answered, so it is up; the answer was just unusable. Fail over, no retry.
                breaker.record_success()
                errors[name] = str(exc)
                log.warning("%s gave unusable output for %s: %s", name, request.tool, exc)
                return None
            except ProviderError as exc:
                breaker.record_failure()
                errors[name] = str(exc)
                log.warning("%s failed for %s, not retrying: %s", name, request.tool, exc)
                return None
            except Exception as exc:  # a bug in a provider must not take the whole tool down
                breaker.record_failure()
                errors[name] = f"internal error: {exc.__class__.__name__}"
                log.exception("%s crashed on %s", name, request.tool)
                return None
            breaker.record_success()
            return result
        return None

    def run(self, request: ToolRequest) -> ToolResult:
        """The first good answer along the tool's provider order; AllProvidersFailed otherwise."""
        order = self.order_for(request.tool)
        errors: dict[str, str] = {}
        deadline = self._clock() + self.config.ai.retry_budget_seconds
        if not order:
            log.error(
                "no configured provider for %s (order %s)",
                request.tool,
                provider_order(self.config, request.tool),
            )
        for name in order:
            result = self._attempt_provider(name, request, errors, deadline)
            if result is not None:
                if errors:
                    log.info("%s answered %s after failover from %s", name, request.tool, ", ".join(errors))
                return result
        detail = "; ".join(f"{name}: {why}" for name, why in errors.items()) or "no configured provider"
        log.error("every provider failed for %s: %s", request.tool, detail)
        raise AllProvidersFailed(errors=errors or {"router": detail})

    def status(self) -> dict[str, dict[str, Any]]:
        """Each provider's model and circuit state."""
        return {
            name: {"model": getattr(provider, "model", ""), **self.breakers[name].snapshot()}
            for name, provider in self.providers.items()
        }


def build_router(config: Config) -> Router:
    """A router over every provider this config can use."""
    from . import configured_providers

    return Router(config, configured_providers(config))
