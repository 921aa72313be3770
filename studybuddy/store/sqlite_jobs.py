"""Jobs in SQLite: claims, leases fenced by their token, retries and the dead."""

from __future__ import annotations

from typing import Any, Iterable

from .base import DEAD_MESSAGE
from .models import Job, new_id
from .sqlite_db import _row_to, _Table


class SqliteJobs(_Table):
    table, model = "jobs", Job

    def add(self, job: Job) -> Job:
        return self._insert(job)  # type: ignore[no-any-return]

    def _change(self, sql: str, params: Iterable[Any]) -> bool:
        return self.db.execute(f"UPDATE jobs SET {sql}", params).rowcount == 1

    def claim(self, job_id: str, worker: str, lease_seconds: float, now: float) -> Job | None:
        row = self.db.execute(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_token = ?, "
            "lease_expires_at = ?, started_at = ?, updated_at = ?, progress = 0, stage = '' "
            "WHERE id = ? AND attempts < max_attempts AND ((state = 'queued' AND not_before <= ?) "
            "OR (state = 'running' AND lease_expires_at < ?)) RETURNING *",
            (worker, new_id(), now + lease_seconds, now, now, job_id, now, now),
        ).fetchone()
        return _row_to(Job, row)

    def _fenced(self, sql: str, job_id: str, token: str, params: Iterable[Any]) -> bool:
        """One UPDATE of a running job that only the holder of its lease token may make."""
        if not token:
            return False
        return self._change(f"{sql} WHERE id = ? AND state = 'running' AND lease_token = ?",
                            (*params, job_id, token))

    def heartbeat(self, job_id: str, token: str, lease_seconds: float, now: float) -> bool:
        return self._fenced("lease_expires_at = ?, updated_at = ?", job_id, token, (now + lease_seconds, now))

    def set_progress(self, job_id: str, token: str, percent: int, stage: str, now: float) -> bool:
        return self._fenced("progress = ?, stage = ?, updated_at = ?", job_id, token,
                            (max(0, min(100, int(percent))), stage, now))

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
        progress = 100 if state == "succeeded" else None
        return self._fenced(
            "state = ?, result_ref = ?, error_user = ?, error_internal = ?, finished_at = ?, "
            "updated_at = ?, lease_expires_at = NULL, lease_token = '', progress = COALESCE(?, progress)",
            job_id, token, (state, result_ref, error_user, error_internal, now, now, progress),
        )

    def retry_later(
        self, job_id: str, token: str, not_before: float, error_internal: str, now: float
    ) -> bool:
        return self._fenced(
            "state = 'queued', not_before = ?, dispatched_at = NULL, lease_owner = '', lease_token = '', "
            "lease_expires_at = NULL, error_internal = ?, updated_at = ?",
            job_id, token, (not_before, error_internal, now),
        )

    def release(self, job_id: str, token: str, now: float) -> bool:
        return self._fenced(
            "state = 'queued', attempts = MAX(attempts - 1, 0), dispatched_at = NULL, "
            "lease_owner = '', lease_token = '', lease_expires_at = NULL, updated_at = ?",
            job_id, token, (now,),
        )

    def mark_dispatched(self, job_id: str, now: float) -> bool:
        return self._change(
            "dispatched_at = ? WHERE id = ? AND state = 'queued' AND dispatched_at IS NULL",
            (now, job_id),
        )

    def unmark_dispatched(self, job_id: str) -> None:
        self.db.execute("UPDATE jobs SET dispatched_at = NULL WHERE id = ?", (job_id,))

    def due_for_dispatch(self, now: float, redispatch_before: float, limit: int = 100) -> list[Job]:
        return self._many(
            "state = 'queued' AND not_before <= ? AND attempts < max_attempts "
            "AND (dispatched_at IS NULL OR dispatched_at < ?)",
            (now, redispatch_before),
            f"ORDER BY created_at LIMIT {int(limit)}",
        )

    def requeue_expired(self, now: float, limit: int = 100) -> list[Job]:
        rows = self.db.execute(
            "UPDATE jobs SET state = 'queued', lease_owner = '', lease_token = '', lease_expires_at = NULL, "
            "dispatched_at = NULL, updated_at = ? "
            "WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < ? "
            f"LIMIT {int(limit)}) RETURNING *",
            (now, now),
        ).fetchall()
        return [_row_to(Job, r) for r in rows]  # type: ignore[misc]

    def bury_exhausted(self, now: float) -> list[Job]:
        rows = self.db.execute(
            "UPDATE jobs SET state = 'dead', finished_at = ?, updated_at = ?, "
            "error_user = CASE WHEN error_user = '' THEN ? ELSE error_user END "
            "WHERE state = 'queued' AND attempts >= max_attempts RETURNING *",
            (now, now, DEAD_MESSAGE),
        ).fetchall()
        return [_row_to(Job, r) for r in rows]  # type: ignore[misc]

    def list_for_owner(self, owner_id: str, course_id: str | None = None, limit: int = 50) -> list[Job]:
        if course_id is None:
            return self._many("owner_id = ?", (owner_id,), f"ORDER BY created_at DESC LIMIT {int(limit)}")
        return self._many(
            "owner_id = ? AND course_id = ?", (owner_id, course_id),
            f"ORDER BY created_at DESC LIMIT {int(limit)}",
        )

    def count_by_state(self) -> dict[str, int]:
        rows = self.db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def delete(self, job_id: str) -> None:
        self.db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def cancel(self, job_id: str, owner_id: str, now: float) -> Job | None:
        """A student's cancel: a queued or running job of theirs becomes `cancelled`. A worker still
        running it loses the job (its progress and result are no longer accepted)."""
        row = self.db.execute(
            "UPDATE jobs SET state = 'cancelled', finished_at = ?, updated_at = ?, lease_owner = '', "
            "lease_token = '', lease_expires_at = NULL "
            "WHERE id = ? AND owner_id = ? AND state IN ('queued', 'running') RETURNING *",
            (now, now, job_id, owner_id)).fetchone()
        return _row_to(Job, row)

    def count_ahead(self, job: Job) -> int:
        """Jobs of the same queue that came earlier and are still waiting or running."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM jobs WHERE queue = ? AND state IN ('queued', 'running') AND created_at < ? "
            "AND id != ?", (job.queue, job.created_at, job.id)).fetchone()
        return int(row[0])
