"""Chunk vectors in MongoDB: two fields of each chunk document, so they go with their chunk."""

from __future__ import annotations

from typing import Any

from bson import Binary

from .models import Chunk
from .mongo_coll import store_errors


@store_errors
class MongoChunkVectors:
    def __init__(self, chunks: Any) -> None:
        self.c = chunks

    def put(self, model: str, vectors: dict[str, bytes]) -> int:
        updated = 0
        for chunk_id, blob in vectors.items():
            result = self.c.update_one({"_id": chunk_id}, {"$set": {"vector": Binary(blob), "vector_model": model}})
            updated += int(result.matched_count)
        return updated

    def for_course(self, course_id: str, model: str) -> dict[str, bytes]:
        found = self.c.find({"course_id": course_id, "vector_model": model, "vector": {"$ne": None}},
                            {"_id": 1, "vector": 1})
        return {d["_id"]: bytes(d["vector"]) for d in found}

    def missing(self, model: str, limit: int = 500, course_id: str | None = None) -> list[Chunk]:
        query: dict[str, Any] = {"$or": [{"vector": None}, {"vector_model": {"$ne": model}}]}
        if course_id is not None:
            query["course_id"] = course_id
        found = self.c.find(query).sort([("document_id", 1), ("ordinal", 1)]).limit(int(limit))
        return [Chunk(id=d["_id"], **{k: d[k] for k in ("document_id", "course_id", "ordinal", "page", "text",
                                                          "search_text", "start", "end") if k in d})
                for d in found]
