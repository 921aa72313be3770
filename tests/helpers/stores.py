"""Every store engine the tests run on: SQLite for real, MongoDB on mongomock, and on a real server
when STUDYBUDDY_TEST_MONGODB_URI is set."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

# The real-MongoDB variant is always collected, and reported as skipped (with the reason) when
# no server is given: no MongoDB server can be installed on our build machines.
BACKENDS = ["sqlite", "mongomock", "mongodb"]


def open_backend(name: str, tmp_path: Path, request: Any) -> Any:
    """A fresh, empty store of the named engine; closed and dropped by the caller's finalizers."""
    if name == "sqlite":
        from studybuddy.store.sqlite import SqliteStore

        return SqliteStore(tmp_path / "db.sqlite", tmp_path / "blobs")
    if name == "mongomock":
        import mongomock
        import mongomock.gridfs

        from studybuddy.store.mongo import MongoStore

        mongomock.gridfs.enable_gridfs_integration()
        return MongoStore("mongodb://localhost/studybuddy_test", client=mongomock.MongoClient())
    import pytest

    from studybuddy.store.mongo import MongoStore

    if not os.environ.get("STUDYBUDDY_TEST_MONGODB_URI"):
        pytest.skip("real MongoDB variant: set STUDYBUDDY_TEST_MONGODB_URI=mongodb://host:port to run it")
    database = f"studybuddy_test_{uuid.uuid4().hex[:8]}"
    store = MongoStore(os.environ["STUDYBUDDY_TEST_MONGODB_URI"], database=database)
    request.addfinalizer(lambda: store.client.drop_database(database))
    return store
