"""A student's own data: everything in one archive, and an account deleted with every trace, in
both stores (SQLite for real, MongoDB on mongomock)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from studybuddy.config import Config
from studybuddy.courses import create_course
from studybuddy.jobs import submit_job
from studybuddy.services import Services
from studybuddy.store.models import Artifact, Document, Item, Page, new_id
from studybuddy.web import create_app

from ..conftest import PASSWORD, csrf_token, login


@pytest.fixture(params=["sqlite", "mongomock"])
def world(request: Any, cfg: Config, tmp_path: Path) -> Any:
    from studybuddy.accounts import create_user

    if request.param == "sqlite":
        services = Services(cfg)
    else:
        import mongomock
        import mongomock.gridfs

        from studybuddy.store.mongo import MongoStore

        mongomock.gridfs.enable_gridfs_integration()
        store = MongoStore("mongodb://localhost/sb_data", client=mongomock.MongoClient())
        services = Services(cfg, store=store)
    store = services.store
    users = {name: create_user(store, f"{name}@example.com", PASSWORD, name.title())
             for name in ("charlie", "alice", "bob")}
    made = {}
    for name in ("alice", "bob"):
        user = users[name]
        course = create_course(store, user.id, f"{name} course")
        blob = store.blobs.put(f"%PDF {name}'s notes".encode())
        doc = store.documents.add(Document(new_id(), course.id, user.id, f"{name}-notes.pdf", blob_id=blob,
                                           size=20, status="ready"))
        store.pages.replace_for_document(doc.id, [Page(doc.id, 1, f"{name} page one")])
        store.artifacts.add(Artifact(new_id(), user.id, course.id, "flashcards", {"cards": [f"{name} card"]}))
        store.items.add(Item(new_id(), "review_mark", user.id, {"grade": 3}, course_id=course.id, key=f"{name}-1"))
        submit_job(services, "ping", user.id, course_id=course.id, params={"queue": "assess"})
        made[name] = {"course": course, "blob": blob, "document": doc}
    app = create_app(cfg, services)
    app.config.update(TESTING=True)
    yield app, services, users, made
    services.close()


def test_export_holds_everything_of_the_student_and_nothing_of_others(world: Any) -> None:
    app, _services, users, made = world
    client = app.test_client()
    login(client, "alice@example.com")
    r = client.get("/settings/export")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.data))
    names = set(archive.namelist())
    assert {"README.txt", "account.json", "data/courses.json", "data/documents.json", "data/pages.json",
            "data/artifacts.json", "data/items.json", "data/jobs.json"} <= names
    document = made["alice"]["document"]
    assert archive.read(f"files/{document.id}-alice-notes.pdf") == b"%PDF alice's notes"
    everything = " ".join(archive.read(n).decode("utf-8", "replace") for n in names)
    assert "alice page one" in everything and "alice card" in everything
    assert json.loads(archive.read("account.json"))["email"] == "alice@example.com"
    assert "password_hash" not in everything and "bob" not in everything
    assert users["bob"].id not in everything


def _dump(store: Any) -> str:
    if hasattr(store.db, "list_collection_names"):
        rows: list[Any] = [d for name in store.db.list_collection_names() for d in store.db[name].find()]
    else:
        conn = store.db.conn()
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = [tuple(r) for t in tables for r in conn.execute(f'SELECT * FROM "{t}"')]
    return json.dumps(rows, default=str, ensure_ascii=False)


def test_delete_account_erases_every_trace_in_either_store(world: Any) -> None:
    app, services, users, made = world
    store = services.store
    client = app.test_client()
    login(client, "alice@example.com", )
    r = client.post("/settings/delete", data={"password": "not my password", "csrf_token": csrf_token(client)})
    assert r.status_code == 400 and store.users.get(users["alice"].id) is not None
    r = client.post("/settings/delete", data={"password": PASSWORD, "csrf_token": csrf_token(client)})
    assert r.status_code == 302
    assert client.get("/library").status_code == 302
    dump = _dump(store)
    for trace in (users["alice"].id, "alice@example.com", made["alice"]["course"].id, "alice page one",
                  "alice card", "alice-notes.pdf"):
        assert trace not in dump, trace
    assert not store.blobs.exists(made["alice"]["blob"])
    assert store.blobs.exists(made["bob"]["blob"]) and "bob page one" in dump
    # Logging in again finds no account.
    login_page = app.test_client()
    token = csrf_token(login_page)
    assert login_page.post("/login", data={"email": "alice@example.com", "password": PASSWORD,
                                           "csrf_token": token}).status_code == 401


def test_the_only_admin_cannot_delete_their_account(world: Any) -> None:
    app, services, users, _made = world
    client = app.test_client()
    login(client, "charlie@example.com")
    r = client.post("/settings/delete", data={"password": PASSWORD, "csrf_token": csrf_token(client)})
    assert r.status_code == 400 and services.store.users.get(users["charlie"].id) is not None
