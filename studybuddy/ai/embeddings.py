"""Text embeddings from the configured provider's API, for hybrid retrieval.

OpenAI's embeddings endpoint (also served by OpenAI-compatible servers such as Ollama or vLLM)
through the openai SDK, or Gemini's through google-genai. Texts go in batches (`ai.embedding_batch`,
at least 64 per request); vectors are stored L2-normalised as float32 bytes beside their chunks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .base import ProviderAuthError, ProviderError, ProviderUnavailable

if TYPE_CHECKING:
    from ..config import Config

log = logging.getLogger(__name__)

MIN_BATCH = 64
MAX_TEXT_CHARS = 8000  # a chunk is far shorter; this only guards the request size


class Embedder(Protocol):
    name: str
    model: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order; raises ProviderError subclasses."""
        ...


def to_blob(vector: Sequence[float]) -> bytes:
    """A vector as stored: L2-normalised float32 bytes."""
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return (array / norm if norm else array).astype(np.float32).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def embed_in_batches(embedder: Embedder, texts: Sequence[str], batch: int,
                     report: Callable[[int, int], None] | None = None) -> list[bytes]:
    """Every text's stored vector, asking the provider for `batch` texts per request."""
    batch = max(MIN_BATCH, batch)
    out: list[bytes] = []
    for start in range(0, len(texts), batch):
        part = [t[:MAX_TEXT_CHARS] or " " for t in texts[start:start + batch]]
        vectors = embedder.embed(part)
        if len(vectors) != len(part):
            raise ProviderError(f"{embedder.name} returned {len(vectors)} vectors for {len(part)} texts",
                                provider=embedder.name)
        out += [to_blob(v) for v in vectors]
        if report:
            report(len(out), len(texts))
    return out


class OpenAIEmbedder:
    name = "openai"

    def __init__(self, api_key: str, model: str, *, base_url: str = "", timeout: float = 60.0) -> None:
        import openai

        self.model = model
        self._openai = openai
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=1)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        openai = self._openai
        try:
            response = self._client.embeddings.create(model=self.model, input=list(texts))
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise ProviderAuthError("openai refused the credentials for embeddings", provider=self.name) from exc
        except openai.APIStatusError as exc:
            if exc.status_code >= 500 or exc.status_code in (408, 409, 429):
                raise ProviderUnavailable(f"openai embeddings answered {exc.status_code}",
                                          provider=self.name) from exc
            raise ProviderError(f"openai embeddings rejected the request ({exc.status_code})",
                                provider=self.name) from exc
        except openai.OpenAIError as exc:
            raise ProviderUnavailable(f"openai embeddings failed: {exc}", provider=self.name) from exc
        ordered = sorted(response.data, key=lambda d: d.index)
        return [list(d.embedding) for d in ordered]


class GeminiEmbedder:
    name = "gemini"

    def __init__(self, api_key: str, model: str, *, base_url: str = "", timeout: float = 60.0) -> None:
        from google import genai
        from google.genai import types

        self.model = model
        self._client = genai.Client(api_key=api_key, http_options=types.HttpOptions(
            base_url=base_url or None, timeout=max(1, int(timeout * 1000))))

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        from google.genai import errors

        try:
            contents: Any = list(texts)
            response: Any = self._client.models.embed_content(model=self.model, contents=contents)
        except errors.APIError as exc:
            code = int(exc.code or 0)
            if code in (401, 403):
                raise ProviderAuthError("gemini refused the credentials for embeddings", provider=self.name) from exc
            if code >= 500 or code == 429:
                raise ProviderUnavailable(f"gemini embeddings answered {code}", provider=self.name) from exc
            raise ProviderError(f"gemini embeddings rejected the request ({code})", provider=self.name) from exc
        except (OSError, ValueError) as exc:
            raise ProviderUnavailable(f"gemini embeddings failed: {exc}", provider=self.name) from exc
        return [list(e.values or []) for e in (response.embeddings or [])]


def configured_embedder(config: Config) -> Embedder | None:
    """The embedder `ai.embeddings` names, when its provider has a key; None when off."""
    ai = config.ai
    if ai.embeddings == "openai" and ai.openai_api_key:
        return OpenAIEmbedder(ai.openai_api_key, ai.openai_embedding_model, base_url=ai.openai_base_url,
                              timeout=ai.timeout_seconds)
    if ai.embeddings == "gemini" and ai.gemini_api_key:
        return GeminiEmbedder(ai.gemini_api_key, ai.gemini_embedding_model, base_url=ai.gemini_base_url,
                              timeout=ai.timeout_seconds)
    if ai.embeddings != "off":
        log.warning("ai.embeddings is %s but that provider has no API key: keyword retrieval only", ai.embeddings)
    return None
