"""Records and repository interfaces of accounts: sessions, login throttling, single-use tokens,
the administrators' audit log, and a student's data as a whole (export, erase)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from .models import Job, User, now


@dataclass(frozen=True)
class SessionRecord:
    """One logged-in browser. `id` is a hash of the secret the cookies carry, never the secret."""

    id: str
    user_id: str
    version: int
    expires_at: float
    remember: bool = False
    device: str = ""
    address: str = ""
    created_at: float = field(default_factory=now)
    last_seen_at: float = field(default_factory=now)


@dataclass(frozen=True)
class AccountToken:
    """The server side of a signed link (verify an address, reset a password): usable once."""

    id: str
    user_id: str
    purpose: str
    expires_at: float
    used_at: float | None = None
    created_at: float = field(default_factory=now)


@dataclass(frozen=True)
class ThrottleState:
    key: str
    failures: int = 0
    first_at: float = 0.0
    locked_until: float = 0.0


@dataclass(frozen=True)
class AuditEntry:
    id: str
    actor_id: str
    action: str
    target_id: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=now)


class SessionRepo(Protocol):
    def add(self, record: SessionRecord) -> SessionRecord: ...
    def get(self, session_id: str) -> SessionRecord | None: ...
    def get_with_user(self, session_id: str) -> tuple[SessionRecord, User | None] | None:
        """The session and its account (None if the account is gone) in one read: every request
        of a logged-in student makes it."""
        ...
    def touch(self, session_id: str, when: float) -> None: ...
    def list_for_user(self, user_id: str) -> list[SessionRecord]: ...
    def delete(self, session_id: str) -> None: ...
    def delete_for_user(self, user_id: str, keep: str = "") -> int: ...
    def delete_expired(self, when: float) -> int: ...


class ThrottleRepo(Protocol):
    def get(self, key: str) -> ThrottleState | None: ...
    def fail(self, key: str, when: float, window_seconds: float) -> int:
        """Count one failure atomically (a new window once the last one is over); returns the count."""
    def lock(self, key: str, until: float) -> None: ...
    def clear(self, key: str) -> None: ...
    def locked(self, when: float) -> list[ThrottleState]: ...
    def purge(self, before: float, when: float) -> int:
        """Forget keys whose window started before `before` and that are not locked at `when`."""


class TokenRepo(Protocol):
    def add(self, token: AccountToken) -> AccountToken: ...
    def get(self, token_id: str) -> AccountToken | None: ...
    def consume(self, token_id: str, when: float) -> bool:
        """Mark an unused, unexpired token used; False if it was used or expired (atomic)."""
    def delete_for_user(self, user_id: str, purpose: str | None = None) -> None: ...


class AuditRepo(Protocol):
    def add(self, entry: AuditEntry) -> AuditEntry: ...
    def recent(self, limit: int = 100) -> list[AuditEntry]: ...


class AccountStore(Protocol):
    """Everything account-shaped, on either engine (store.accounts)."""

    sessions: SessionRepo
    throttle: ThrottleRepo
    tokens: TokenRepo
    audit: AuditRepo

    def bump_session_version(self, user_id: str) -> int:
        """Atomically add one to the user's session version; returns the new version."""
    def export_rows(self, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every record the user owns, table by table (secrets such as password hashes left out)."""
    def erase_user(self, user_id: str) -> None:
        """The user and every trace of them: owned rows, blobs, jobs, sessions, tokens, counters."""
    def storage_bytes(self) -> dict[str, int]:
        """Bytes of uploaded documents per owner."""
    def jobs_in_state(self, state: str, limit: int = 100) -> list[Job]: ...
    def retry_job(self, job_id: str, when: float) -> bool:
        """A failed or dead job goes back to the queue with fresh attempts."""
    def cancel_job(self, job_id: str, when: float, message: str) -> bool:
        """A queued or running job fails with `message`; a worker still on it loses its lease."""
