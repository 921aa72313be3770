"""Fixtures: a populated SQLite store and a mongomock database (a real server when
STUDYBUDDY_TEST_MONGODB_URI is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from studybuddy.store.sqlite import SqliteStore


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "src" / "studybuddy.db", tmp_path / "src" / "blobs")
    yield store
    store.close()


@pytest.fixture
def mongo_client() -> Iterator[tuple[Any, str]]:
    """(client, database name) of an empty database."""
    uri = os.environ.get("STUDYBUDDY_TEST_MONGODB_URI")
    name = f"studybuddy_backup_{uuid.uuid4().hex[:8]}"
    if uri:
        import pymongo

        client: Any = pymongo.MongoClient(uri)
        yield client, name
        client.drop_database(name)
        client.close()
        return
    import mongomock
    import mongomock.gridfs

    mongomock.gridfs.enable_gridfs_integration()
    yield mongomock.MongoClient(), name


# The systemd test root and the systemd-analyze requirement of the unit tests, for ours too.
from tests.monitor.test_units import analyze_tool, unit_root  # noqa: E402, F401
