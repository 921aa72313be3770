"""The services a process needs, built once from config (no I/O at import time)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from .config import Config
from .jobs.broker import Broker
from .store import Store, open_store


class Services:
    """Holds the store, the broker publisher, and lazily built shared services."""

    def __init__(self, config: Config, store: Store | None = None, broker: Broker | None = None):
        self.config = config
        self.store: Store = store if store is not None else open_store(config)
        self.broker = broker if broker is not None else Broker(config.broker)

    @cached_property
    def ai(self) -> Any:
        """The AI router (failover across the configured providers)."""
        from .ai.router import build_router
        from .metrics.ai import measure_router

        return measure_router(build_router(self.config))

    @cached_property
    def retrieval(self) -> Any:
        from .ingest.retrieval import Retrieval

        return Retrieval(self.store)

    def close(self) -> None:
        self.broker.close()
        self.store.close()
