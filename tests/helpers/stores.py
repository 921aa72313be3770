"""Every store engine the tests run on: SQLite for real, MongoDB on mongomock, and on a real server
when STUDYBUDDY_TEST_MONGODB_URI is set."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

BACKENDS = ["sqlite", "mongomock"] + (["mongodb"] if os.environ.get("STUDYBUDDY_TEST_MONGODB_URI") else [])


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
    from studybuddy.store.mongo import MongoStore

    database = f"studybuddy_test_{uuid.uuid4().hex[:8]}"
    store = MongoStore(os.environ["STUDYBUDDY_TEST_MONGODB_URI"], database=database)
    request.addfinalizer(lambda: store.client.drop_database(database))
    return store
