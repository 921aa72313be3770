"""Storage: one repository interface, two engines (SQLite embedded, MongoDB scale-out)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from .base import DuplicateError, Store, StoreError
from .models import new_id, now

if TYPE_CHECKING:
    from ..config import Config

__all__ = ["DuplicateError", "Store", "StoreError", "new_id", "now", "open_store"]


def open_store(cfg: "Config") -> Store:
    """Open the store named by `storage.url`, applying migrations / ensuring indexes."""
    url = cfg.storage_url
    if url.startswith("sqlite:///"):
        from .sqlite import SqliteStore

        store = SqliteStore(url[len("sqlite:///"):], cfg.state_path / "blobs", cfg.storage.busy_timeout_ms)
        return cast(Store, store)
    from .mongo import MongoStore

    return cast(Store, MongoStore(url))
