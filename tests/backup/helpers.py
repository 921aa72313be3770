"""A populated store, canonical table contents for comparing stores, and archive surgery."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sqlite3
import tarfile
import time
from pathlib import Path
from typing import Any, Callable

from studybuddy.backup.mapping import doc_to_row, sqlite_tables, table_shape
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
    new_id,
)


def populate(store: Any, blobs: int = 3, cards: bool = True) -> dict[str, Any]:
    """Two students with a course each, documents with files, pages, chunks, jobs, results,
    review logs, counters and monitor state: every table holds something."""
    out: dict[str, Any] = {"blobs": {}}
    for name in ("alice", "bob"):
        user = store.users.add(User(id=new_id(), email=f"{name.title()}@Example.com", password_hash="h",
                                    display_name=name, is_admin=name == "alice", language="he"))
        course = store.courses.add(Course(id=new_id(), owner_id=user.id, name=f"קורס של {name}"))
        for n in range(blobs):
            data = (f"%PDF-1.4 {name} {n} ".encode() + bytes(range(256))) * (50 + n)
            blob_id = store.blobs.put(data)
            out["blobs"][blob_id] = hashlib.sha256(data).hexdigest()
            doc = store.documents.add(Document(id=new_id(), course_id=course.id, owner_id=user.id,
                                               display_name=f"הרצאה {n}.pdf", blob_id=blob_id, size=len(data),
                                               status="ready", page_count=2))
            store.pages.replace_for_document(doc.id, [Page(doc.id, p, f"# עמוד {p}\nטקסט {name}") for p in (1, 2)])
            store.chunks.replace_for_document(doc.id, [
                Chunk(new_id(), doc.id, course.id, i, 1, f"קטע {i}", f"קטע {i}", 0, 10) for i in range(3)])
            # A job some worker is running (written as such: a claim needs today's schema).
            created = time.time()
            store.jobs.add(Job(id=new_id(), type="ingest", queue="file_processing", owner_id=user.id,
                               course_id=course.id, document_id=doc.id, params={"document_id": doc.id},
                               state="running", attempts=1, lease_owner="w1", lease_expires_at=created + 31,
                               started_at=created + 1, created_at=created, updated_at=created + 1))
        store.artifacts.add(Artifact(id=new_id(), owner_id=user.id, course_id=course.id, kind="flashcards",
                                     content={"cards": [{"front": "מה?", "back": "זה"}]}, title="כרטיסים"))
        deck = store.items.add(Item(id=new_id(), kind="deck", owner_id=user.id, course_id=course.id,
                                    data={"name": "חפיסה"}, key=f"deck-{name}"))
        for r in range(5):
            store.items.add(Item(id=new_id(), kind="review_log", owner_id=user.id, course_id=course.id,
                                 parent_id=deck.id, data={"rating": r % 4 + 1, "elapsed": r * 1.5}))
        store.counters.incr(f"ai_requests:{user.id}:2026-11-30", 3)
        if not cards:  # a schema from before decks and cards
            out[name] = user
            continue
        deck = store.decks.add(Deck(id=new_id(), owner_id=user.id, course_id=course.id, name="מונחים"))
        for c in range(3):
            card = store.cards.add(Card(id=new_id(), owner_id=user.id, course_id=course.id, deck_id=deck.id,
                                        front=f"שאלה {c}", back=f"תשובה {c}", tags=["פרק-1", "יסודות"],
                                        source={"document_id": "d", "page": c + 1}, position=c,
                                        suspended=c == 2, stability=1.5 if c else None, reps=c))
            for g in range(2):
                store.reviews.add(Review(id=new_id(), owner_id=user.id, card_id=card.id, mark_id=new_id(),
                                         grade=g + 2, reviewed_at=1_796_000_000.0 + g, undone=g == 1))
        out[name] = user
    store.monitor.set_state("policy", {"checks": {"web:responseTime": {"strikes": 0, "state": "ok"}}})
    store.monitor.add_event(MonitorEvent(new_id(), "round", "", {"results": {"store:responseTime": "pass"}}))
    return out


def sqlite_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted, as SQLite holds them."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out = {}
        for table in sqlite_tables(conn):
            rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
            out[table] = sorted(rows, key=repr)
        return out
    finally:
        conn.close()


def mongo_rows(db: Any, shapes_from: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every collection's documents turned into the rows of the SQLite schema at `shapes_from`."""
    conn = sqlite3.connect(f"file:{shapes_from}?mode=ro", uri=True)
    try:
        out = {}
        for table in sqlite_tables(conn):
            shape = table_shape(conn, table)
            rows = []
            for doc in db[table].find({}):
                row = doc_to_row(shape, doc)
                rows.append(tuple(row.get(c) for c in shape.columns))
            out[table] = sorted(rows, key=repr)
        return out
    finally:
        conn.close()


def digest(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, tuple[int, str]]:
    return {t: (len(r), hashlib.sha256(repr(r).encode()).hexdigest()) for t, r in rows.items()}


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under root (relative name -> SHA-256): what "unchanged" means for a target.

    SQLite's shared-memory index (-shm) and an empty write-ahead log are not data: a read-only
    look at a WAL database creates them."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith("-shm")
            and not (p.name.endswith("-wal") and p.stat().st_size == 0)}


def rewrite_archive(src: Path, dst: Path, *, member: Callable[[str, bytes], bytes] | None = None,
                    manifest: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                    rehash: bool = False) -> None:
    """Copy an archive, changing members and/or the manifest (rehash: make the checksums fit)."""
    with tarfile.open(src, "r:gz") as tar:
        items = [(m.name, tar.extractfile(m).read()) for m in tar]  # type: ignore[union-attr]
    files = {name: data for name, data in items if name != "manifest.json"}
    meta = json.loads(dict(items)["manifest.json"])
    if member:
        files = {name: member(name, data) for name, data in files.items()}
    if rehash:
        meta["members"] = {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()}
    if manifest:
        meta = manifest(meta)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in list(files.items()) + [("manifest.json", json.dumps(meta).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    dst.write_bytes(gzip.compress(buf.getvalue()))
