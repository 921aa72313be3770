"""Records kept by the store. Plain frozen dataclasses; the repositories turn rows into them."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

JOB_STATES = ("queued", "running", "succeeded", "failed", "dead", "cancelled")
DOCUMENT_STATES = ("uploaded", "processing", "ready", "failed")


def new_id() -> str:
    """An opaque, URL-safe, unguessable identifier."""
    return secrets.token_hex(12)


def now() -> float:
    return time.time()


@dataclass(frozen=True)
class User:
    id: str
    email: str
    password_hash: str
    display_name: str = ""
    is_admin: bool = False
    language: str = ""
    created_at: float = field(default_factory=now)
    session_version: int = 0
    disabled: bool = False
    email_verified: bool = False


@dataclass(frozen=True)
class Course:
    id: str
    owner_id: str
    name: str
    created_at: float = field(default_factory=now)


@dataclass(frozen=True)
class Document:
    id: str
    course_id: str
    owner_id: str
    display_name: str
    blob_id: str = ""
    mime: str = ""
    kind: str = ""
    size: int = 0
    status: str = "uploaded"
    error: str = ""
    page_count: int = 0
    job_id: str = ""
    created_at: float = field(default_factory=now)
    content_hash: str = ""  # sha256 of the bytes: the same file twice in a course is refused
    outline: str = ""  # JSON [[level, heading, page], ...] of the headings found at ingest


@dataclass(frozen=True)
class Page:
    """The extracted display text of one page or slide of a document."""

    document_id: str
    number: int
    text: str


@dataclass(frozen=True)
class Chunk:
    id: str
    document_id: str
    course_id: str
    ordinal: int
    page: int
    text: str
    search_text: str
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class Job:
    id: str
    type: str
    queue: str
    owner_id: str
    course_id: str = ""
    document_id: str = ""
    state: str = "queued"
    params: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    max_attempts: int = 4
    lease_expires_at: float | None = None
    lease_owner: str = ""
    lease_token: str = ""  # handed out by each claim; only its holder may write the job
    not_before: float = 0.0
    dispatched_at: float | None = None
    progress: int = 0
    stage: str = ""
    error_user: str = ""
    error_internal: str = ""
    result_ref: str = ""
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("succeeded", "failed", "dead", "cancelled")


@dataclass(frozen=True)
class Artifact:
    """A result of a study tool (summary, flashcard deck, quiz, answer...)."""

    id: str
    owner_id: str
    course_id: str
    kind: str
    content: dict[str, Any]
    document_id: str = ""
    title: str = ""
    job_id: str = ""
    provider: str = ""
    model: str = ""
    latency_ms: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    created_at: float = field(default_factory=now)


@dataclass(frozen=True)
class Item:
    """A small owned record of any kind (chat message, review state, quiz attempt...)."""

    id: str
    kind: str
    owner_id: str
    data: dict[str, Any]
    course_id: str = ""
    parent_id: str = ""
    key: str = ""
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass(frozen=True)
class MonitorEvent:
    id: str
    kind: str
    check: str
    data: dict[str, Any]
    created_at: float = field(default_factory=now)
