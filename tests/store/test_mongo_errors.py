"""A MongoDB server that cannot be reached gives the store's own StoreError from every repository
method, as SQLite's errors do, never a pymongo exception the pages and the worker do not know.

The store is real pymongo pointed at a port where nothing listens, so every operation fails the
way it does when the server is down."""

from __future__ import annotations

import inspect
from typing import Any, Iterator

import pymongo
import pymongo.common
import pytest

from studybuddy.store.account_models import AccountToken, AuditEntry, SessionRecord
from studybuddy.store.base import StoreError
from studybuddy.store.cards import Card, Deck, Review
from studybuddy.store.models import (
    Artifact,
    Chunk,
    Course,
    Document,
    Item,
    Job,
    MonitorEvent,
    Page,
    User,
)
from studybuddy.store.mongo import MongoStore

# Methods that never talk to the server, and why.
NO_IO = {
    "MongoStore.close": "closes the client; nothing to reach",
}

SAMPLES: dict[str, Any] = {
    "User": User("u1", "a@example.com", "hash"),
    "Course": Course("c1", "u1", "קורס"),
    "Document": Document("d1", "c1", "u1", "a.pdf"),
    "Job": Job(id="j1", type="ping", queue="summarize", owner_id="u1"),
    "Artifact": Artifact(id="a1", owner_id="u1", course_id="c1", kind="summary", content={}),
    "Item": Item(id="i1", kind="note", owner_id="u1", data={}),
    "Page": Page("d1", 1, "text"),
    "Chunk": Chunk("k1", "d1", "c1", 0, 1, "text", "text"),
    "Card": Card("x1", "u1", "c1", "dk1", "front", "back"),
    "Deck": Deck("dk1", "u1", "c1", "deck"),
    "Review": Review(id="r1", owner_id="u1", card_id="x1", mark_id="m1", grade=3, reviewed_at=1.0),
    "SessionRecord": SessionRecord("s1", "u1", 0, 2.0),
    "AccountToken": AccountToken(id="t1", user_id="u1", purpose="reset", expires_at=2.0),
    "AuditEntry": AuditEntry(id="e1", actor_id="u1", action="login"),
    "MonitorEvent": MonitorEvent(id="m1", kind="probe", check="web", data={}),
}


def _sample(annotation: str, model: Any = None) -> Any:
    bare = annotation.replace(" | None", "")
    if bare == "Any" and model is not None:  # the record of a repository that takes its model
        return SAMPLES[model.__name__]
    if bare.startswith("Iterable[") or bare.startswith("list["):
        inner = bare[bare.index("[") + 1:-1]
        return [_sample(inner)]
    if bare in SAMPLES:
        return SAMPLES[bare]
    simple = {"str": "x", "float": 1.0, "int": 1, "bool": False, "bytes | BinaryIO": b"x", "Any": {}}
    if bare in simple:
        return simple[bare]
    if bare.startswith("dict["):
        return {"x": b"x"} if "bytes" in bare else {}
    raise AssertionError(f"no sample for {annotation!r}: add one")


@pytest.fixture
def unreachable(monkeypatch: pytest.MonkeyPatch) -> Iterator[MongoStore]:
    monkeypatch.setattr(MongoStore, "_ensure_indexes", lambda self: None)
    # pymongo waits at least this long (0.5 s) before it looks at a server again: every one of
    # the ~90 calls would wait it out instead of the 30 ms asked for below.
    monkeypatch.setattr(pymongo.common, "MIN_HEARTBEAT_INTERVAL", 0.005)
    client: Any = pymongo.MongoClient("mongodb://127.0.0.1:9/", serverSelectionTimeoutMS=30, connectTimeoutMS=30)
    store = MongoStore("", client=client, database="studybuddy_unreachable")
    yield store
    client.close()


def _repositories(store: MongoStore) -> list[tuple[str, Any]]:
    found = {id(store): ("MongoStore", store)}
    for name, value in [*vars(store).items(), *vars(store.accounts).items()]:
        if type(value).__module__.startswith("studybuddy.store.mongo") and not name.startswith("_"):
            found[id(value)] = (type(value).__name__, value)
    return list(found.values())


def _calls(store: MongoStore) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    for class_name, repository in _repositories(store):
        for name in dir(type(repository)):
            method = getattr(repository, name)
            if name.startswith("_") or not callable(method) or isinstance(method, type):
                continue
            model = getattr(repository, "model", None)
            required = {p.name: _sample(str(p.annotation), model) for p in inspect.signature(method).parameters.values()
                        if p.default is inspect.Parameter.empty
                        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
            yield f"{class_name}.{name}", method, required


def test_every_repository_method_gives_store_error_when_the_server_is_down(unreachable: MongoStore) -> None:
    leaked: list[str] = []
    called = 0
    for name, method, arguments in _calls(unreachable):
        if name in NO_IO:
            continue
        called += 1
        try:
            method(**arguments)
        except StoreError:
            continue
        except KeyError:
            # A missing blob reads as KeyError on both engines.
            if name != "GridFsBlobs.get":
                leaked.append(f"{name}: KeyError")
        except Exception as exc:  # noqa: BLE001 - what is being checked
            leaked.append(f"{name}: {type(exc).__module__}.{type(exc).__name__}")
        else:
            leaked.append(f"{name}: returned without reaching the server")
    assert called > 80, called
    assert leaked == [], "\n".join(leaked)
