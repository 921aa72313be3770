"""The scale-out store: MongoDB through pymongo, blobs in GridFS, indexes ensured at start."""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from typing import Any, BinaryIO, Iterable

import gridfs
import pymongo
from pymongo import ReturnDocument
from pymongo.errors import PyMongoError

from .base import CourseStamp
from .models import (
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
from .mongo_accounts import MongoAccounts, ensure_account_indexes
from .mongo_cards import MongoCards, MongoDecks, MongoReviews, delete_for_course
from .mongo_cards import ensure_indexes as ensure_card_indexes
from .mongo_coll import _Coll, _from_doc, _to_doc, store_errors
from .mongo_jobs import MongoJobs
from .mongo_vectors import MongoChunkVectors

log = logging.getLogger(__name__)


@store_errors
class MongoUsers(_Coll):
    model = User

    def add(self, user: User) -> User:
        doc = _to_doc(user)
        doc["email_lower"] = user.email.strip().lower()
        self.c.insert_one(doc)
        return user

    def get_by_email(self, email: str) -> User | None:
        return self._find_one({"email_lower": email.strip().lower()})  # type: ignore[no-any-return]

    def update(self, user_id: str, **values: Any) -> User | None:
        if "email" in values:
            self.c.update_one({"_id": user_id}, {"$set": {"email_lower": values["email"].strip().lower()}})
        return self._update(user_id, values)  # type: ignore[no-any-return]

    def count(self) -> int:
        return int(self.c.count_documents({}))

    def list(self) -> list[User]:
        return self._find({}, [("created_at", 1)])


@store_errors
class MongoCourses(_Coll):
    model = Course

    def add(self, course: Course) -> Course:
        return self._insert(course)  # type: ignore[no-any-return]

    def list_for_owner(self, owner_id: str) -> list[Course]:
        return self._find({"owner_id": owner_id}, [("created_at", -1)])

    def update(self, course_id: str, **values: Any) -> Course | None:
        return self._update(course_id, values)  # type: ignore[no-any-return]

    def get_stamped(self, course_id: str) -> tuple[Course, CourseStamp] | None:
        course = self.get(course_id)
        if course is None:
            return None
        # Mongo has no triggers to keep a change counter, so no version: pages are rendered each time.
        busy = self.c.database["jobs"].find_one({"course_id": course_id, "state": {"$in": ["queued", "running"]}},
                                                {"_id": 1})
        return course, CourseStamp(None, busy is not None)


@store_errors
class MongoDocuments(_Coll):
    model = Document

    def add(self, document: Document) -> Document:
        return self._insert(document)  # type: ignore[no-any-return]

    def list_for_course(self, course_id: str) -> list[Document]:
        return self._find({"course_id": course_id}, [("created_at", 1)])

    def update(self, document_id: str, **values: Any) -> Document | None:
        return self._update(document_id, values)  # type: ignore[no-any-return]

    def add_with_job(self, document: Document, job: Job) -> Document:
        document = replace(document, job_id=job.id)
        jobs = self.c.database["jobs"]
        if _has_transactions(self.c.database.client):
            with self.c.database.client.start_session() as session:
                session.with_transaction(lambda s: (jobs.insert_one(_to_doc(job), session=s),
                                                    self.c.insert_one(_to_doc(document), session=s)))
            return document
        # No transactions (a single server, mongomock): the job first, so that a crash between
        # the two writes leaves a job whose document is missing (its ingest ends at once),
        # never a document without its job.
        jobs.insert_one(_to_doc(job))
        try:
            self.c.insert_one(_to_doc(document))
        except BaseException:
            jobs.delete_one({"_id": job.id})
            raise
        return document

    def find_by_hash(self, course_id: str, content_hash: str) -> Document | None:
        if not content_hash:
            return None
        query = {"course_id": course_id, "content_hash": content_hash, "status": {"$ne": "failed"}}
        found = self._find(query, [("created_at", 1)], limit=1)
        return found[0] if found else None


@store_errors
class MongoPages(_Coll):
    model = Page

    def replace_for_document(self, document_id: str, pages: Iterable[Page]) -> None:
        _replace_for_document(self.c, document_id, [asdict(p) for p in pages])

    def list_for_document(self, document_id: str) -> list[Page]:
        return [Page(d["document_id"], d["number"], d["text"])
                for d in self.c.find({"document_id": document_id}).sort([("number", 1)])]

    def get(self, document_id: str, number: int) -> Page | None:  # type: ignore[override]
        d = self.c.find_one({"document_id": document_id, "number": number})
        return Page(d["document_id"], d["number"], d["text"]) if d else None


@store_errors
class MongoChunks(_Coll):
    model = Chunk

    def replace_for_document(self, document_id: str, chunks: Iterable[Chunk]) -> None:
        # A new chunk has no vector yet: the same empty pair SQLite's columns default to, so the
        # two stores hold the same thing (and an archive of one restores into the other exactly).
        _replace_for_document(self.c, document_id, [{**_to_doc(c), "vector": None, "vector_model": ""} for c in chunks])

    def list_for_document(self, document_id: str) -> list[Chunk]:
        return self._find({"document_id": document_id}, [("ordinal", 1)])

    def list_for_course(self, course_id: str) -> list[Chunk]:
        return self._find({"course_id": course_id}, [("document_id", 1), ("ordinal", 1)])

    def count_for_course(self, course_id: str) -> int:
        return int(self.c.count_documents({"course_id": course_id}))



@store_errors
class MongoArtifacts(_Coll):
    model = Artifact

    def add(self, artifact: Artifact) -> Artifact:
        return self._insert(artifact)  # type: ignore[no-any-return]

    def list_for_course(self, course_id: str, kind: str | None = None) -> list[Artifact]:
        query: dict[str, Any] = {"course_id": course_id}
        if kind is not None:
            query["kind"] = kind
        return self._find(query, [("created_at", -1)])

    def ids_for_owner(self, owner_id: str, kind: str) -> list[str]:
        courses = [c["_id"] for c in self.c.database["courses"].find({"owner_id": owner_id}, {"_id": 1})]
        found = self.c.find({"course_id": {"$in": courses}, "kind": kind, "owner_id": owner_id}, {"_id": 1})
        return [d["_id"] for d in found.sort([("created_at", 1), ("_id", 1)])]

    def update_content(self, artifact_id: str, content: dict[str, Any]) -> Artifact | None:
        return self._update(artifact_id, {"content": content})  # type: ignore[no-any-return]

    def delete(self, artifact_id: str) -> None:
        self.c.delete_one({"_id": artifact_id})

    def list_recent(self, course_id: str, owner_id: str, kinds: Iterable[str], limit: int = 50) -> list[Artifact]:
        """Newest first, without their content (lists show titles; content is read when opened)."""
        cursor = self.c.find({"course_id": course_id, "owner_id": owner_id, "kind": {"$in": list(kinds)}},
                             {"content": 0}).sort([("created_at", -1)]).limit(int(limit))
        return [_from_doc(Artifact, {**d, "content": {}}) for d in cursor]  # type: ignore[misc]

    def rename(self, artifact_id: str, title: str) -> Artifact | None:
        return self._update(artifact_id, {"title": title})  # type: ignore[no-any-return]


@store_errors
class MongoItems(_Coll):
    model = Item

    def _doc(self, item: Item) -> dict[str, Any]:
        doc = _to_doc(item)
        # The unique index is partial on "ukey": only keyed items carry it.
        if item.key:
            doc["ukey"] = [item.kind, item.owner_id, item.key]
        return doc

    def add(self, item: Item) -> Item:
        self.c.insert_one(self._doc(item))
        return item

    def put(self, item: Item) -> Item:
        self.c.replace_one({"_id": item.id}, self._doc(item), upsert=True)
        return item

    def get_by_key(self, kind: str, owner_id: str, key: str) -> Item | None:
        return self._find_one({"kind": kind, "owner_id": owner_id, "key": key})  # type: ignore[no-any-return]

    def find(
        self,
        kind: str,
        owner_id: str | None = None,
        course_id: str | None = None,
        parent_id: str | None = None,
        limit: int = 1000,
    ) -> list[Item]:
        query: dict[str, Any] = {"kind": kind}
        for col, value in (("owner_id", owner_id), ("course_id", course_id), ("parent_id", parent_id)):
            if value is not None:
                query[col] = value
        return self._find(query, [("created_at", 1), ("_id", 1)], limit)

    def delete(self, item_id: str) -> None:
        self.c.delete_one({"_id": item_id})


@store_errors
class MongoCounters:
    def __init__(self, coll: Any):
        self.c = coll

    def incr(self, key: str, amount: int = 1) -> int:
        doc = self.c.find_one_and_update({"_id": key}, {"$inc": {"value": amount}}, upsert=True,
                                         return_document=ReturnDocument.AFTER)
        return int(doc["value"])

    def get(self, key: str) -> int:
        doc = self.c.find_one({"_id": key})
        return int(doc["value"]) if doc else 0


@store_errors
class MongoMonitor:
    def __init__(self, state: Any, events: Any):
        self.state = state
        self.ev = events

    def get_state(self, key: str) -> dict[str, Any] | None:
        doc = self.state.find_one({"_id": key})
        return dict(doc["value"]) if doc else None

    def set_state(self, key: str, value: dict[str, Any]) -> None:
        self.state.replace_one({"_id": key}, {"_id": key, "value": value}, upsert=True)

    def add_event(self, event: MonitorEvent) -> MonitorEvent:
        self.ev.insert_one(_to_doc(event))
        return event

    def events(self, since: float = 0.0, kind: str | None = None, limit: int = 1000) -> list[MonitorEvent]:
        query: dict[str, Any] = {"created_at": {"$gte": since}}
        if kind is not None:
            query["kind"] = kind
        cursor = self.ev.find(query).sort([("created_at", 1), ("_id", 1)]).limit(limit)
        return [_from_doc(MonitorEvent, d) for d in cursor]  # type: ignore[misc]


@store_errors
class GridFsBlobs:
    def __init__(self, db: Any):
        self.fs = gridfs.GridFS(db, collection="blobs")
        self.files = db["blobs.files"]

    def put(self, data: bytes | BinaryIO) -> str:
        blob_id = new_id()
        self.fs.put(data, _id=blob_id)
        return blob_id

    def get(self, blob_id: str) -> bytes:
        try:
            return bytes(self.fs.get(blob_id).read())
        except gridfs.errors.NoFile:
            raise KeyError(blob_id) from None

    def exists(self, blob_id: str) -> bool:
        return bool(self.fs.exists(blob_id))

    def delete(self, blob_id: str) -> None:
        self.fs.delete(blob_id)

    def list_ids(self) -> list[str]:
        return sorted(str(d["_id"]) for d in self.files.find({}, {"_id": 1}))


@store_errors
class MongoStore:
    """MongoDB store; `client` may be a pymongo or mongomock client."""

    def __init__(self, url: str, client: Any = None, database: str | None = None):
        self.client = client or pymongo.MongoClient(url, serverSelectionTimeoutMS=5000, tz_aware=False)
        name = database or _database_name(url)
        self.db = self.client[name]
        d = self.db
        self._ensure_indexes()
        self.users = MongoUsers(d.users)
        self.courses = MongoCourses(d.courses)
        self.documents = MongoDocuments(d.documents)
        self.pages = MongoPages(d.pages)
        self.chunks = MongoChunks(d.chunks)
        self.jobs = MongoJobs(d.jobs)
        self.artifacts = MongoArtifacts(d.artifacts)
        self.items = MongoItems(d.items)
        self.counters = MongoCounters(d.counters)
        self.monitor = MongoMonitor(d.monitor_state, d.monitor_events)
        self.blobs = GridFsBlobs(d)
        self.reviews = MongoReviews(d.card_reviews)
        self.cards = MongoCards(d.cards, d.card_reviews)
        self.decks = MongoDecks(d.decks, d.cards, d.card_reviews)
        self.vectors = MongoChunkVectors(d.chunks)
        self.accounts = MongoAccounts(d, self.blobs)

    def _ensure_indexes(self) -> None:
        d = self.db
        d.users.create_index("email_lower", unique=True)
        d.courses.create_index([("owner_id", 1), ("created_at", -1)])
        d.documents.create_index([("course_id", 1), ("created_at", 1)])
        d.documents.create_index([("course_id", 1), ("content_hash", 1)])
        d.pages.create_index([("document_id", 1), ("number", 1)], unique=True)
        d.chunks.create_index([("document_id", 1), ("ordinal", 1)])
        d.chunks.create_index("course_id")
        d.jobs.create_index([("state", 1), ("dispatched_at", 1)])
        d.jobs.create_index([("owner_id", 1), ("created_at", -1)])
        d.jobs.create_index("course_id")
        d.artifacts.create_index([("course_id", 1), ("kind", 1), ("created_at", -1)])
        d.artifacts.create_index("document_id")
        d.items.create_index("ukey", unique=True, partialFilterExpression={"ukey": {"$exists": True}})
        d.items.create_index([("kind", 1), ("owner_id", 1), ("course_id", 1), ("parent_id", 1)])
        d.items.create_index("course_id")
        d.monitor_events.create_index("created_at")
        ensure_card_indexes(d)
        ensure_account_indexes(d)

    def ping(self) -> None:
        self.client.admin.command("ping")

    def delete_document(self, document_id: str) -> None:
        doc = self.db.documents.find_one({"_id": document_id})
        self.db.artifacts.delete_many({"document_id": document_id})
        self.db.chunks.delete_many({"document_id": document_id})
        self.db.pages.delete_many({"document_id": document_id})
        self.db.documents.delete_one({"_id": document_id})
        if doc and doc.get("blob_id"):
            self.blobs.delete(doc["blob_id"])

    def delete_course(self, course_id: str) -> None:
        for doc in list(self.db.documents.find({"course_id": course_id}, {"_id": 1})):
            self.delete_document(doc["_id"])
        self.db.artifacts.delete_many({"course_id": course_id})
        self.db.items.delete_many({"course_id": course_id})
        delete_for_course(self.db, course_id)
        self.db.jobs.delete_many({"course_id": course_id})
        self.db.courses.delete_one({"_id": course_id})

    def close(self) -> None:
        self.client.close()


_TRANSACTIONS: dict[int, bool] = {}


def _replace_for_document(coll: Any, document_id: str, docs: list[dict[str, Any]]) -> None:
    """A document's rows (pages, chunks) replaced by new ones: in one transaction where the server
    takes them, so that no reader sees the document with none and a failed insert keeps the old."""
    def write(**session: Any) -> None:
        coll.delete_many({"document_id": document_id}, **session)
        if docs:
            coll.insert_many(docs, **session)

    client = coll.database.client
    if _has_transactions(client):
        with client.start_session() as session:
            session.with_transaction(lambda s: write(session=s))
    else:
        write()


def _has_transactions(client: Any) -> bool:
    """Whether the server takes multi-document transactions (a replica set or sharded cluster);
    asked once per client. mongomock has none."""
    if not isinstance(client, pymongo.MongoClient):
        return False
    known = _TRANSACTIONS.get(id(client))
    if known is None:
        hello: dict[str, Any] = {}
        for command in ("hello", "isMaster"):  # "hello" from MongoDB 4.4.2 (and late 4.0/4.2 releases)
            try:
                hello = client.admin.command(command)
                break
            except PyMongoError:
                continue
        known = _TRANSACTIONS[id(client)] = bool(hello.get("setName") or hello.get("msg") == "isdbgrid")
    return known


def _database_name(url: str) -> str:
    from pymongo.uri_parser import parse_uri

    try:
        name = parse_uri(url).get("database")
    except Exception:
        name = None
    return name or "studybuddy"

