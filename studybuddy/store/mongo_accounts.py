"""Accounts on MongoDB: sessions, login throttle, link tokens, audit log, a student's data as a whole."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pymongo import ReturnDocument

from .account_models import AccountToken, AuditEntry, SessionRecord, ThrottleState
from .models import Job, User
from .mongo_coll import _Coll, _from_doc, store_errors

if TYPE_CHECKING:
    from .mongo import GridFsBlobs

# Collections that hold no user's data, or whose user data is handled on its own (below).
_NOT_OWNED = {"login_throttle", "monitor_state", "monitor_events", "counters", "audit_log", "users",
              "blobs.files", "blobs.chunks"}
_SECRET_FIELDS = {"password_hash", "lease_owner", "lease_token", "error_internal", "search_text", "email_lower",
                  "ukey", "vector"}
_BY_DOCUMENT = ("pages", "chunks")


def _plain(doc: dict[str, Any]) -> dict[str, Any]:
    out = {("id" if k == "_id" else k): v for k, v in doc.items() if k not in _SECRET_FIELDS}
    return out


@store_errors
class MongoSessions(_Coll):
    model = SessionRecord

    def add(self, record: SessionRecord) -> SessionRecord:
        return self._insert(record)  # type: ignore[no-any-return]

    def get_with_user(self, session_id: str) -> tuple[SessionRecord, User | None] | None:
        record = self.get(session_id)
        if record is None:
            return None
        return record, _from_doc(User, self.c.database["users"].find_one({"_id": record.user_id}))

    def touch(self, session_id: str, when: float) -> None:
        self.c.update_one({"_id": session_id}, {"$set": {"last_seen_at": when}})

    def list_for_user(self, user_id: str) -> list[SessionRecord]:
        return self._find({"user_id": user_id}, [("last_seen_at", -1)])

    def delete(self, session_id: str) -> None:
        self.c.delete_one({"_id": session_id})

    def delete_for_user(self, user_id: str, keep: str = "") -> int:
        return int(self.c.delete_many({"user_id": user_id, "_id": {"$ne": keep}}).deleted_count)

    def delete_expired(self, when: float) -> int:
        return int(self.c.delete_many({"expires_at": {"$lt": when}}).deleted_count)


@store_errors
class MongoThrottle:
    def __init__(self, coll: Any):
        self.c = coll

    @staticmethod
    def _state(doc: dict[str, Any] | None) -> ThrottleState | None:
        if doc is None:
            return None
        return ThrottleState(doc["_id"], int(doc.get("failures", 0)), float(doc.get("first_at", 0.0)),
                             float(doc.get("locked_until", 0.0)))

    def get(self, key: str) -> ThrottleState | None:
        return self._state(self.c.find_one({"_id": key}))

    def fail(self, key: str, when: float, window_seconds: float) -> int:
        # A window that is over starts again; then one atomic increment (created if missing).
        self.c.update_one({"_id": key, "first_at": {"$lt": when - window_seconds}},
                          {"$set": {"failures": 0, "first_at": when}})
        doc = self.c.find_one_and_update(
            {"_id": key}, {"$inc": {"failures": 1}, "$setOnInsert": {"first_at": when, "locked_until": 0.0}},
            upsert=True, return_document=ReturnDocument.AFTER)
        return int(doc["failures"])

    def lock(self, key: str, until: float) -> None:
        self.c.update_one({"_id": key}, {"$set": {"locked_until": until}})

    def clear(self, key: str) -> None:
        self.c.delete_one({"_id": key})

    def locked(self, when: float) -> list[ThrottleState]:
        docs = self.c.find({"locked_until": {"$gt": when}}).sort([("locked_until", -1)])
        return [s for s in (self._state(d) for d in docs) if s is not None]

    def purge(self, before: float, when: float) -> int:
        return int(self.c.delete_many({"first_at": {"$lt": before}, "locked_until": {"$lte": when}}).deleted_count)


@store_errors
class MongoTokens(_Coll):
    model = AccountToken

    def add(self, token: AccountToken) -> AccountToken:
        return self._insert(token)  # type: ignore[no-any-return]

    def consume(self, token_id: str, when: float) -> bool:
        r = self.c.update_one({"_id": token_id, "used_at": None, "expires_at": {"$gte": when}},
                              {"$set": {"used_at": when}})
        return bool(r.modified_count)

    def delete_for_user(self, user_id: str, purpose: str | None = None) -> None:
        query: dict[str, Any] = {"user_id": user_id}
        if purpose is not None:
            query["purpose"] = purpose
        self.c.delete_many(query)


@store_errors
class MongoAudit(_Coll):
    model = AuditEntry

    def add(self, entry: AuditEntry) -> AuditEntry:
        return self._insert(entry)  # type: ignore[no-any-return]

    def recent(self, limit: int = 100) -> list[AuditEntry]:
        return self._find({}, [("created_at", -1), ("_id", 1)], limit)


def ensure_account_indexes(db: Any) -> None:
    db.sessions.create_index([("user_id", 1), ("last_seen_at", -1)])
    db.sessions.create_index("expires_at")
    db.login_throttle.create_index("locked_until")
    db.account_tokens.create_index([("user_id", 1), ("purpose", 1)])
    db.audit_log.create_index("created_at")


@store_errors
class MongoAccounts:
    def __init__(self, db: Any, blobs: GridFsBlobs):
        self.db = db
        self.blobs = blobs
        self.sessions = MongoSessions(db.sessions)
        self.throttle = MongoThrottle(db.login_throttle)
        self.tokens = MongoTokens(db.account_tokens)
        self.audit = MongoAudit(db.audit_log)

    def bump_session_version(self, user_id: str) -> int:
        doc = self.db.users.find_one_and_update({"_id": user_id}, {"$inc": {"session_version": 1}},
                                                return_document=ReturnDocument.AFTER)
        return int(doc["session_version"]) if doc else 0

    def _owned(self) -> list[str]:
        """Every collection but the few above: their documents belong to a user by owner_id or
        user_id, so collections added later by other areas are covered too."""
        return [name for name in self.db.list_collection_names() if name not in _NOT_OWNED]

    @staticmethod
    def _by_user(user_id: str) -> dict[str, Any]:
        return {"$or": [{"owner_id": user_id}, {"user_id": user_id}]}

    def _document_ids(self, user_id: str) -> list[str]:
        return [d["_id"] for d in self.db.documents.find({"owner_id": user_id}, {"_id": 1})]

    def export_rows(self, user_id: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {
            "account": [_plain(d) for d in self.db.users.find({"_id": user_id})],
        }
        documents = self._document_ids(user_id)
        for name in sorted(self._owned()):
            if name in ("sessions", "account_tokens"):
                continue
            query = {"document_id": {"$in": documents}} if name in _BY_DOCUMENT else self._by_user(user_id)
            rows = [_plain(d) for d in self.db[name].find(query)]
            if rows or name in ("courses", "documents"):
                out[name] = rows
        return out

    def erase_user(self, user_id: str) -> None:
        blob_ids = [d["blob_id"] for d in self.db.documents.find({"owner_id": user_id}, {"blob_id": 1})
                    if d.get("blob_id")]
        course_ids = [d["_id"] for d in self.db.courses.find({"owner_id": user_id}, {"_id": 1})]
        documents = self._document_ids(user_id)
        for name in _BY_DOCUMENT:
            self.db[name].delete_many({"document_id": {"$in": documents}})
        for name in self._owned():
            if name not in _BY_DOCUMENT:
                self.db[name].delete_many(self._by_user(user_id))
        escaped = re.escape(user_id)
        self.db.counters.delete_many({"_id": {"$regex": f":{escaped}(:|$)"}})
        for course_id in course_ids:
            self.db.counters.delete_many({"_id": {"$regex": f":{re.escape(course_id)}$"}})
        self.db.audit_log.update_many({"target_id": user_id}, {"$set": {"target_id": "deleted", "detail": {}}})
        self.db.audit_log.update_many({"actor_id": user_id}, {"$set": {"actor_id": "deleted"}})
        self.db.users.delete_one({"_id": user_id})
        for blob_id in blob_ids:
            self.blobs.delete(blob_id)

    def storage_bytes(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.db.documents.find({}, {"owner_id": 1, "size": 1}):
            out[d["owner_id"]] = out.get(d["owner_id"], 0) + int(d.get("size") or 0)
        return out

    def jobs_in_state(self, state: str, limit: int = 100) -> list[Job]:
        cursor = self.db.jobs.find({"state": state}).sort([("updated_at", -1)]).limit(int(limit))
        return [j for j in (_from_doc(Job, d) for d in cursor) if j is not None]

    def retry_job(self, job_id: str, when: float) -> bool:
        r = self.db.jobs.update_one(
            {"_id": job_id, "state": {"$in": ["failed", "dead"]}},
            {"$set": {"state": "queued", "attempts": 0, "not_before": 0.0, "dispatched_at": None,
                      "lease_owner": "", "lease_token": "", "lease_expires_at": None, "error_user": "", "progress": 0,
                      "stage": "", "finished_at": None, "updated_at": when}})
        return bool(r.modified_count)

    def cancel_job(self, job_id: str, when: float, message: str) -> bool:
        r = self.db.jobs.update_one(
            {"_id": job_id, "state": {"$in": ["queued", "running"]}},
            {"$set": {"state": "failed", "error_user": message, "lease_owner": "", "lease_token": "",
                      "lease_expires_at": None,
                      "finished_at": when, "updated_at": when}})
        return bool(r.modified_count)
