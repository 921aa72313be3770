"""The repository interface every store implements (SQLite and MongoDB)."""

from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterable, Protocol

from .account_models import AccountStore
from .cards import CardRepo, DeckRepo, ReviewRepo
from .models import Artifact, Chunk, Course, Document, Item, Job, MonitorEvent, Page, User


# What a student reads of a job that failed more times than it may be tried (both engines).
DEAD_MESSAGE = "This task failed too many times. Please try again later."


class StoreError(Exception):
    """The store could not do what was asked (connection lost, disk full...)."""


class DuplicateError(StoreError):
    """A unique value (an e-mail address, an item key) already exists."""


class StorageFull(StoreError):
    """The disk (or the quota) that holds the store or its files is full."""


_FULL_TEXTS = ("database or disk is full", "no space left on device", "disk quota exceeded")
_SQLITE_FULL = 13


def is_storage_full(exc: BaseException | None) -> bool:
    """True if `exc`, or an error it was raised from, says the disk or a quota is full."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, StorageFull):
            return True
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.Error) and (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF == _SQLITE_FULL:
            return True
        if isinstance(exc, (StoreError, sqlite3.Error)) and any(t in str(exc).lower() for t in _FULL_TEXTS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class UserRepo(Protocol):
    def add(self, user: User) -> User: ...
    def get(self, user_id: str) -> User | None: ...
    def get_by_email(self, email: str) -> User | None: ...
    def update(self, user_id: str, **fields: Any) -> User | None: ...
    def count(self) -> int: ...
    def list(self) -> list[User]: ...


@dataclass(frozen=True)
class CourseStamp:
    """How far a course has changed: `version` moves with every write to the course, its
    documents, jobs, results and items (None where the engine keeps no such counter); `busy` says
    a job of the course is queued or running."""

    version: int | None
    busy: bool


class CourseRepo(Protocol):
    def add(self, course: Course) -> Course: ...
    def get(self, course_id: str) -> Course | None: ...
    def list_for_owner(self, owner_id: str) -> list[Course]: ...
    def update(self, course_id: str, **fields: Any) -> Course | None: ...
    def get_stamped(self, course_id: str) -> tuple[Course, CourseStamp] | None:
        """The course and its stamp in one read (the course page asks for both)."""
        ...


class DocumentRepo(Protocol):
    def add(self, document: Document) -> Document: ...
    def get(self, document_id: str) -> Document | None: ...
    def list_for_course(self, course_id: str) -> list[Document]: ...
    def update(self, document_id: str, **fields: Any) -> Document | None: ...
    def find_by_hash(self, course_id: str, content_hash: str) -> Document | None:
        """The first document of the course with these bytes that has not failed."""
        ...
    def add_with_job(self, document: Document, job: Job) -> Document:
        """The document (its `job_id` set to the job's) and its queued, undispatched job, written
        together: both or, where the engine has no transactions, the job first. The caller then
        publishes the job; if it never does, the reaper does (an outbox)."""
        ...


class PageRepo(Protocol):
    def replace_for_document(self, document_id: str, pages: Iterable[Page]) -> None: ...
    def list_for_document(self, document_id: str) -> list[Page]: ...
    def get(self, document_id: str, number: int) -> Page | None: ...


class ChunkRepo(Protocol):
    def replace_for_document(self, document_id: str, chunks: Iterable[Chunk]) -> None: ...
    def list_for_document(self, document_id: str) -> list[Chunk]: ...
    def list_for_course(self, course_id: str) -> list[Chunk]: ...
    def get(self, chunk_id: str) -> Chunk | None: ...
    def count_for_course(self, course_id: str) -> int: ...


class VectorRepo(Protocol):
    """Embedding vectors kept with their chunks (float32 bytes), per embedding model."""

    def put(self, model: str, vectors: dict[str, bytes]) -> int:
        """Set the vectors of existing chunks by id; returns how many chunks were updated."""
    def for_course(self, course_id: str, model: str) -> dict[str, bytes]:
        """chunk id -> vector for the course's chunks that have one from `model`."""
    def missing(self, model: str, limit: int = 500, course_id: str | None = None) -> list[Chunk]:
        """Chunks without a vector from `model` (oldest documents first)."""


class JobRepo(Protocol):
    def add(self, job: Job) -> Job: ...
    def get(self, job_id: str) -> Job | None: ...
    def claim(self, job_id: str, worker: str, lease_seconds: float, now: float) -> Job | None:
        """Atomically move a job with attempts left to running under a new lease token: a queued,
        due job, or a running one whose lease has expired (its worker died or hangs). None if
        not won."""
    # The writes of a running job: each is made only while `token` (the `lease_token` its claim
    # handed out) still owns the job, in the same atomic update; False when it no longer does.
    def heartbeat(self, job_id: str, token: str, lease_seconds: float, now: float) -> bool: ...
    def set_progress(self, job_id: str, token: str, percent: int, stage: str, now: float) -> bool: ...
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
    ) -> bool: ...
    def retry_later(
        self, job_id: str, token: str, not_before: float, error_internal: str, now: float
    ) -> bool: ...
    def release(self, job_id: str, token: str, now: float) -> bool:
        """Give a running job back (worker shutting down); attempts are not charged."""
    def mark_dispatched(self, job_id: str, now: float) -> bool:
        """Atomically take the right to publish a queued job; False if someone else has."""
    def unmark_dispatched(self, job_id: str) -> None: ...
    def due_for_dispatch(self, now: float, redispatch_before: float, limit: int = 100) -> list[Job]:
        """Queued jobs that are due and were never published, or published before `redispatch_before`."""
    def requeue_expired(self, now: float, limit: int = 100) -> list[Job]:
        """Running jobs whose lease expired go back to queued (undispatched); returns them."""
    def bury_exhausted(self, now: float) -> list[Job]:
        """Queued jobs without attempts left become dead; returns them."""
    def list_for_owner(self, owner_id: str, course_id: str | None = None, limit: int = 50) -> list[Job]: ...
    def count_by_state(self) -> dict[str, int]: ...
    def delete(self, job_id: str) -> None: ...
    def cancel(self, job_id: str, owner_id: str, now: float) -> Job | None:
        """A queued or running job of this owner becomes cancelled; None if it was neither."""
    def count_ahead(self, job: Job) -> int:
        """Jobs of the same queue, created earlier, still queued or running."""


class ArtifactRepo(Protocol):
    def add(self, artifact: Artifact) -> Artifact: ...
    def get(self, artifact_id: str) -> Artifact | None: ...
    def list_for_course(self, course_id: str, kind: str | None = None) -> list[Artifact]: ...
    def ids_for_owner(self, owner_id: str, kind: str) -> list[str]:
        """The ids of the student's artifacts of a kind in their courses, oldest first (no contents)."""
    def update_content(self, artifact_id: str, content: dict[str, Any]) -> Artifact | None: ...
    def delete(self, artifact_id: str) -> None: ...
    def list_recent(self, course_id: str, owner_id: str, kinds: Iterable[str], limit: int = 50) -> list[Artifact]:
        """Newest first, with `content` left empty."""
    def rename(self, artifact_id: str, title: str) -> Artifact | None: ...


class ItemRepo(Protocol):
    def add(self, item: Item) -> Item:
        """Insert; raises DuplicateError if (kind, owner_id, key) exists for a non-empty key."""
    def put(self, item: Item) -> Item:
        """Insert or replace by id."""
    def get(self, item_id: str) -> Item | None: ...
    def get_by_key(self, kind: str, owner_id: str, key: str) -> Item | None: ...
    def find(
        self,
        kind: str,
        owner_id: str | None = None,
        course_id: str | None = None,
        parent_id: str | None = None,
        limit: int = 1000,
    ) -> list[Item]: ...
    def delete(self, item_id: str) -> None: ...


class CounterRepo(Protocol):
    def incr(self, key: str, amount: int = 1) -> int:
        """Atomically add and return the new value."""
    def get(self, key: str) -> int: ...


class MonitorRepo(Protocol):
    def get_state(self, key: str) -> dict[str, Any] | None: ...
    def set_state(self, key: str, value: dict[str, Any]) -> None: ...
    def add_event(self, event: MonitorEvent) -> MonitorEvent: ...
    def events(self, since: float = 0.0, kind: str | None = None, limit: int = 1000) -> list[MonitorEvent]: ...


class BlobStore(Protocol):
    def put(self, data: bytes | BinaryIO) -> str:
        """Store bytes (or a readable stream) and return an opaque blob id."""
    def get(self, blob_id: str) -> bytes: ...
    def exists(self, blob_id: str) -> bool: ...
    def delete(self, blob_id: str) -> None: ...
    def list_ids(self) -> list[str]: ...


class Store(Protocol):
    users: UserRepo
    courses: CourseRepo
    documents: DocumentRepo
    pages: PageRepo
    chunks: ChunkRepo
    jobs: JobRepo
    artifacts: ArtifactRepo
    items: ItemRepo
    counters: CounterRepo
    monitor: MonitorRepo
    blobs: BlobStore
    decks: DeckRepo
    cards: CardRepo
    reviews: ReviewRepo
    vectors: VectorRepo
    accounts: AccountStore

    def ping(self) -> None:
        """Raise StoreError unless the store answers."""
    def delete_document(self, document_id: str) -> None:
        """The document, its pages, chunks, artifacts and blob."""
    def delete_course(self, course_id: str) -> None:
        """The course and everything under it, blobs included."""
    def close(self) -> None: ...
