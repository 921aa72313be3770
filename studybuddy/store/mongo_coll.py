"""The base of every MongoDB repository: models to documents and back, pymongo's errors as the store's."""

from __future__ import annotations

import functools
import inspect
from dataclasses import asdict, fields
from typing import Any, Callable, TypeVar

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from .base import DuplicateError, StoreError

T = TypeVar("T")
C = TypeVar("C", bound=type)


def store_errors(cls: C) -> C:
    """Every public method of a MongoDB repository raises the store's errors for pymongo's
    (DuplicateError for a duplicate key, StoreError for the rest: a lost server, a timeout), as
    SQLite's repositories do; callers know those and nothing of pymongo."""
    for name, value in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(value):
            setattr(cls, name, _translated(value))
    return cls


def _translated(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except DuplicateKeyError as exc:
            raise DuplicateError(str(exc)) from exc
        except PyMongoError as exc:
            raise StoreError(str(exc)) from exc
    return call


def _from_doc(cls: type[T], doc: dict[str, Any] | None) -> T | None:
    if doc is None:
        return None
    values = {f.name: doc.get("_id" if f.name == "id" else f.name) for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in values.items() if v is not None or k in _NULLABLE})


_NULLABLE = {"lease_expires_at", "dispatched_at", "started_at", "finished_at", "used_at"}


def _to_doc(obj: Any) -> dict[str, Any]:
    doc = asdict(obj)
    if "id" in doc:
        doc["_id"] = doc.pop("id")
    return doc


@store_errors
class _Coll:
    """pymongo's errors become the store's in store_errors, around every public method."""

    model: type = object

    def __init__(self, coll: Any):
        self.c = coll

    def _insert(self, obj: Any) -> Any:
        self.c.insert_one(_to_doc(obj))
        return obj

    def _find(self, query: dict[str, Any], sort: list[tuple[str, int]] | None = None, limit: int = 0) -> list[Any]:
        cursor = self.c.find(query)
        if sort:
            cursor = cursor.sort(sort)
        if limit:
            cursor = cursor.limit(limit)
        return [_from_doc(self.model, d) for d in cursor]

    def _find_one(self, query: dict[str, Any]) -> Any:
        return _from_doc(self.model, self.c.find_one(query))

    def _update(self, id_: str, values: dict[str, Any]) -> Any:
        allowed = {f.name for f in fields(self.model)} - {"id"}  # type: ignore[arg-type]
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}")
        doc = self.c.find_one_and_update(
            {"_id": id_}, {"$set": values}, return_document=ReturnDocument.AFTER
        ) if values else self.c.find_one({"_id": id_})
        return _from_doc(self.model, doc)

    def get(self, id_: str) -> Any:
        return self._find_one({"_id": id_})
