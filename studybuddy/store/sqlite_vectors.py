"""Chunk vectors in SQLite: two columns of the chunks table, so they live and die with their chunk."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING

from .models import Chunk

if TYPE_CHECKING:
    from .sqlite_db import _Db

_CHUNK_COLUMNS = ", ".join(f'"{f.name}"' for f in fields(Chunk))


class SqliteChunkVectors:
    def __init__(self, db: _Db) -> None:
        self.db = db

    def put(self, model: str, vectors: dict[str, bytes]) -> int:
        rows = [(blob, model, chunk_id) for chunk_id, blob in vectors.items()]
        with self.db.transaction() as conn:
            before = conn.total_changes
            conn.executemany("UPDATE chunks SET vector = ?, vector_model = ? WHERE id = ?", rows)
            return int(conn.total_changes - before)

    def for_course(self, course_id: str, model: str) -> dict[str, bytes]:
        rows = self.db.execute("SELECT id, vector FROM chunks WHERE course_id = ? AND vector_model = ? "
                               "AND vector IS NOT NULL", (course_id, model)).fetchall()
        return {r[0]: bytes(r[1]) for r in rows}

    def missing(self, model: str, limit: int = 500, course_id: str | None = None) -> list[Chunk]:
        where = "(vector IS NULL OR vector_model != ?)"
        params: list[object] = [model]
        if course_id is not None:
            where += " AND course_id = ?"
            params.append(course_id)
        rows = self.db.execute(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE {where} "
                               "ORDER BY rowid LIMIT ?", (*params, int(limit))).fetchall()
        return [Chunk(**{f.name: r[f.name] for f in fields(Chunk)}) for r in rows]
