"""The services a process needs, built once from config (no I/O at import time)."""

from __future__ import annotations

import threading
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
        # Built on first use, once per process even when several request threads ask at once:
        # two routers would mean two sets of circuit breakers.
        self._lock = threading.Lock()
        self._ai: Any = None
        self._retrieval: Any = None
        self._embedder: Any = False  # not built yet (None: embeddings are off)

    @property
    def ai(self) -> Any:
        """The AI router (failover across the configured providers)."""
        with self._lock:
            if self._ai is None:
                from .ai.router import build_router
                from .metrics.ai import measure_router

                self._ai = measure_router(build_router(self.config))
            return self._ai

    @property
    def embedder(self) -> Any:
        """The embedding API for hybrid retrieval (None when ai.embeddings is off)."""
        with self._lock:
            if self._embedder is False:
                from .ai.embeddings import configured_embedder

                self._embedder = configured_embedder(self.config)
            return self._embedder

    @property
    def retrieval(self) -> Any:
        embedder = self.embedder
        with self._lock:
            if self._retrieval is None:
                from .ingest.retrieval import Retrieval

                self._retrieval = Retrieval(self.store, embedder, self.config.ai.embedding_min_similarity)
            return self._retrieval

    def close(self) -> None:
        self.broker.close()
        self.store.close()
