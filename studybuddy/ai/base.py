"""The AI contract: what a tool asks for, what a provider returns, and how providers fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

TOOLS: tuple[str, ...] = ("summary", "flashcards", "quiz", "quiz_grade", "glossary", "homework", "chat",
                          "study_guide", "faq", "mind_map", "translate")


@dataclass(frozen=True)
class SourceChunk:
    """One retrieved passage given to the model, numbered 1..n in the prompt."""

    number: int
    chunk_id: str
    document_id: str
    document_name: str
    page: int
    text: str


@dataclass(frozen=True)
class ToolRequest:
    """What a study tool asks of a model.

    params by tool: summary {length: short|medium|long, style: bullets|prose|exam};
    flashcards {count: 1..50}; quiz {count: 1..25, kind: mc|open};
    quiz_grade {question, expected, answer}; glossary {count}; homework {problem};
    chat {question, history: [{role: user|assistant, text}], simple: bool};
    study_guide, faq, mind_map {}; translate {text, to: he|en} (a question, for retrieval)
    """

    tool: str
    sources: list[SourceChunk]
    language: str = "he"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolResult:
    """A provider's validated answer (data matches SCHEMAS[tool]) and what it cost."""

    data: dict[str, Any]
    provider: str
    model: str
    latency_ms: int = 0
    tokens_in: int = 0
    tokens_out: int = 0


class Provider(Protocol):
    name: str
    model: str

    def run(self, request: ToolRequest) -> ToolResult:
        """Answer a tool request; raises ProviderError subclasses."""
        ...

    def probe(self) -> None:
        """A minimal real call (used by the monitor); raises ProviderError."""
        ...


class ProviderError(Exception):
    """Base of every provider failure."""

    retryable: bool = False

    def __init__(self, message: str, *, provider: str = "") -> None:
        super().__init__(message)
        self.provider = provider


class ProviderAuthError(ProviderError):
    """401/403: the key is wrong or lacks permission; never retried."""

    retryable = False


class ProviderUnavailable(ProviderError):
    """429, 5xx, timeouts, connection trouble: worth retrying later."""

    retryable = True

    def __init__(self, message: str, *, provider: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, provider=provider)
        self.retry_after = retry_after  # seconds the server asked us to wait, if it said


class ProviderBadOutput(ProviderError):
    """Junk, empty or invalid JSON even after the one repair attempt."""

    retryable = False


class AllProvidersFailed(ProviderError):
    """No configured provider could answer."""

    user_message = "AI providers are unavailable right now, try again later"

    def __init__(self, message: str = "", *, errors: dict[str, str] | None = None) -> None:
        super().__init__(message or self.user_message)
        self.errors: dict[str, str] = dict(errors or {})
