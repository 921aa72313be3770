"""Jobs in MongoDB: claims, leases fenced by their token, retries and the dead."""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument

from .base import DEAD_MESSAGE
from .models import Job, new_id
from .mongo_coll import _Coll, _from_doc, store_errors


@store_errors
class MongoJobs(_Coll):
    model = Job

    def add(self, job: Job) -> Job:
        return self._insert(job)  # type: ignore[no-any-return]

    def _cas(self, query: dict[str, Any], update: dict[str, Any]) -> Job | None:
        doc = self.c.find_one_and_update(query, update, return_document=ReturnDocument.AFTER)
        return _from_doc(Job, doc)

    def claim(self, job_id: str, worker: str, lease_seconds: float, now: float) -> Job | None:
        return self._cas(
            {"_id": job_id, "$expr": {"$lt": ["$attempts", "$max_attempts"]},
             "$or": [{"state": "queued", "not_before": {"$lte": now}},
                     {"state": "running", "lease_expires_at": {"$lt": now}}]},
            {"$set": {"state": "running", "lease_owner": worker, "lease_token": new_id(),
                      "lease_expires_at": now + lease_seconds, "started_at": now, "updated_at": now,
                      "progress": 0, "stage": ""},
             "$inc": {"attempts": 1}},
        )

    def _fenced(self, job_id: str, token: str, update: dict[str, Any]) -> bool:
        """One update of a running job that only the holder of its lease token may make."""
        if not token:
            return False
        r = self.c.update_one({"_id": job_id, "state": "running", "lease_token": token}, update)
        return bool(r.matched_count)

    def heartbeat(self, job_id: str, token: str, lease_seconds: float, now: float) -> bool:
        return self._fenced(job_id, token, {"$set": {"lease_expires_at": now + lease_seconds, "updated_at": now}})

    def set_progress(self, job_id: str, token: str, percent: int, stage: str, now: float) -> bool:
        return self._fenced(job_id, token, {"$set": {
            "progress": max(0, min(100, int(percent))), "stage": stage, "updated_at": now}})

    def finish(
        self,
        job_id: str,
        token: str,
        state: str,
        now: float,
        *,
        result_ref: str = "",
        error_user: str = "",
        error_internal: str = "",
    ) -> bool:
        values: dict[str, Any] = {"state": state, "result_ref": result_ref, "error_user": error_user,
                                  "error_internal": error_internal, "finished_at": now,
                                  "updated_at": now, "lease_expires_at": None, "lease_token": ""}
        if state == "succeeded":
            values["progress"] = 100
        return self._fenced(job_id, token, {"$set": values})

    def retry_later(self, job_id: str, token: str, not_before: float, error_internal: str, now: float) -> bool:
        return self._fenced(job_id, token, {"$set": {
            "state": "queued", "not_before": not_before, "dispatched_at": None, "lease_owner": "",
            "lease_token": "", "lease_expires_at": None, "error_internal": error_internal, "updated_at": now}})

    def release(self, job_id: str, token: str, now: float) -> bool:
        return self._fenced(job_id, token, {
            "$set": {"state": "queued", "dispatched_at": None, "lease_owner": "", "lease_token": "",
                     "lease_expires_at": None, "updated_at": now},
            "$inc": {"attempts": -1}})

    def mark_dispatched(self, job_id: str, now: float) -> bool:
        r = self.c.update_one({"_id": job_id, "state": "queued", "dispatched_at": None},
                              {"$set": {"dispatched_at": now}})
        return bool(r.modified_count)

    def unmark_dispatched(self, job_id: str) -> None:
        self.c.update_one({"_id": job_id}, {"$set": {"dispatched_at": None}})

    def due_for_dispatch(self, now: float, redispatch_before: float, limit: int = 100) -> list[Job]:
        return self._find(
            {"state": "queued", "not_before": {"$lte": now},
             "$expr": {"$lt": ["$attempts", "$max_attempts"]},
             "$or": [{"dispatched_at": None}, {"dispatched_at": {"$lt": redispatch_before}}]},
            [("created_at", 1)], limit,
        )

    def requeue_expired(self, now: float, limit: int = 100) -> list[Job]:
        out: list[Job] = []
        for doc in self.c.find({"state": "running", "lease_expires_at": {"$lt": now}}).limit(limit):
            job = self._cas(
                {"_id": doc["_id"], "state": "running", "lease_expires_at": doc["lease_expires_at"]},
                {"$set": {"state": "queued", "lease_owner": "", "lease_token": "", "lease_expires_at": None,
                          "dispatched_at": None, "updated_at": now}},
            )
            if job:
                out.append(job)
        return out

    def bury_exhausted(self, now: float) -> list[Job]:
        out: list[Job] = []
        query = {"state": "queued", "$expr": {"$gte": ["$attempts", "$max_attempts"]}}
        for doc in self.c.find(query):
            job = self._cas(
                {"_id": doc["_id"], "state": "queued"},
                {"$set": {"state": "dead", "finished_at": now, "updated_at": now,
                          "error_user": doc.get("error_user") or DEAD_MESSAGE}},
            )
            if job:
                out.append(job)
        return out

    def list_for_owner(self, owner_id: str, course_id: str | None = None, limit: int = 50) -> list[Job]:
        query: dict[str, Any] = {"owner_id": owner_id}
        if course_id is not None:
            query["course_id"] = course_id
        return self._find(query, [("created_at", -1)], limit)

    def count_by_state(self) -> dict[str, int]:
        return {d["_id"]: int(d["n"]) for d in self.c.aggregate(
            [{"$group": {"_id": "$state", "n": {"$sum": 1}}}])}

    def delete(self, job_id: str) -> None:
        self.c.delete_one({"_id": job_id})

    def cancel(self, job_id: str, owner_id: str, now: float) -> Job | None:
        """A student's cancel: a queued or running job of theirs becomes `cancelled`. A worker still
        running it loses the job (its progress and result are no longer accepted)."""
        return self._cas({"_id": job_id, "owner_id": owner_id, "state": {"$in": ["queued", "running"]}},
                         {"$set": {"state": "cancelled", "finished_at": now, "updated_at": now, "lease_owner": "",
                                   "lease_token": "", "lease_expires_at": None}})

    def count_ahead(self, job: Job) -> int:
        """Jobs of the same queue that came earlier and are still waiting or running."""
        return int(self.c.count_documents({"queue": job.queue, "state": {"$in": ["queued", "running"]},
                                           "created_at": {"$lt": job.created_at}, "_id": {"$ne": job.id}}))
