"""507 for a full disk or quota, whichever write meets it; every other error is answered as before.

The real full disk is drilled in tests/faults/test_disk_full.py (a tmpfs, root only); here the
error comes from the blob store, so this runs everywhere.
"""

from __future__ import annotations

import errno
import io
import sqlite3
from typing import Any

import pytest

from studybuddy.courses import create_course
from studybuddy.store.base import StorageFull, StoreError, is_storage_full
from studybuddy.web.errors import MESSAGES

from ..conftest import csrf_token


@pytest.mark.parametrize("exc, full", [
    (OSError(errno.ENOSPC, "No space left on device"), True),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
    (sqlite3.OperationalError("database or disk is full"), True),
    (StorageFull("database or disk is full"), True),
    (OSError(errno.EACCES, "Permission denied"), False),
    (sqlite3.OperationalError("database is locked"), False),
    (StoreError("connection refused"), False),
    (ValueError("no space left on device"), False),
])
def test_what_counts_as_a_full_disk(exc: BaseException, full: bool) -> None:
    assert is_storage_full(exc) is full
    try:
        try:
            raise exc
        except BaseException as inner:
            raise StoreError("write failed") from inner
    except StoreError as outer:
        assert is_storage_full(outer) is full  # found through the chain too


def _upload(client: Any, course_id: str) -> Any:
    return client.post(f"/api/v1/courses/{course_id}/documents", content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(b"notes on cells"), "notes.txt")], "csrf_token": csrf_token(client)})


def test_an_upload_on_a_full_disk_is_507_and_leaves_nothing(login_as: Any, users: Any, store: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    store.users.update(users["alice"].id, language="en")
    course = create_course(store, users["alice"].id, "ביולוגיה")
    client = login_as("alice")

    def no_space(data: Any) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.blobs, "put", no_space)
    r = _upload(client, course.id)
    assert r.status_code == 507 and r.get_json() == {"error": MESSAGES[507]}
    assert store.documents.list_for_course(course.id) == []
    assert store.jobs.list_for_owner(users["alice"].id) == []


def test_other_write_errors_are_not_called_a_full_disk(app: Any, login_as: Any, users: Any, store: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    course = create_course(store, users["alice"].id, "ביולוגיה")
    client = login_as("alice")

    def denied(data: Any) -> str:
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(store.blobs, "put", denied)
    with pytest.raises(OSError):  # under TESTING the error propagates, as it did before
        _upload(client, course.id)
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    r = _upload(client, course.id)
    assert r.status_code == 500 and r.get_json()["error"] != MESSAGES[507]
