"""Embeddings through the real SDKs against the fake servers: vectors, batches, failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studybuddy.ai.base import ProviderUnavailable
from studybuddy.ai.embeddings import (
    GeminiEmbedder,
    OpenAIEmbedder,
    configured_embedder,
    embed_in_batches,
    from_blob,
)
from tests.ai.embedding_model import embed_text
from tests.ai.fakes import FakeGemini, FakeOpenAI, status
from tests.conftest import make_config


def test_openai_embeddings_come_back_in_order(openai_server: FakeOpenAI) -> None:
    embedder = OpenAIEmbedder("sk-test", "text-embedding-3-small", base_url=f"{openai_server.url}/v1")
    vectors = embedder.embed(["guard cells", "תאי שמירה", "market price"])
    assert np.allclose(vectors[0], embed_text("guard cells"), atol=1e-6)
    assert float(np.dot(vectors[0], vectors[1])) > 0.99  # the test model knows the translation
    assert float(np.dot(vectors[0], vectors[2])) < 0.5
    (request,) = openai_server.embedding_requests
    assert request.body["model"] == "text-embedding-3-small" and len(request.body["input"]) == 3


def test_gemini_embeddings_through_google_genai(gemini_server: FakeGemini) -> None:
    embedder = GeminiEmbedder("key", "gemini-embedding-001", base_url=gemini_server.url)
    vectors = embedder.embed(["stomata", "פיוניות"])
    assert len(vectors) == 2 and float(np.dot(vectors[0], vectors[1])) > 0.99
    (request,) = gemini_server.embedding_requests
    assert request.path.endswith("models/gemini-embedding-001:batchEmbedContents")
    assert len(request.body["requests"]) == 2


def test_batches_hold_at_least_64_texts_and_vectors_are_unit_length(openai_server: FakeOpenAI) -> None:
    embedder = OpenAIEmbedder("sk-test", "m", base_url=f"{openai_server.url}/v1")
    blobs = embed_in_batches(embedder, [f"leaf {i} holds chlorophyll" for i in range(150)], batch=10)
    assert [len(r.body["input"]) for r in openai_server.embedding_requests] == [64, 64, 22]
    assert len(blobs) == 150 and abs(float(np.linalg.norm(from_blob(blobs[0]))) - 1.0) < 1e-5


def test_a_failing_embedding_api_is_a_provider_error(openai_server: FakeOpenAI) -> None:
    openai_server.embeddings = lambda rec: None  # type: ignore[method-assign]  # answered by the script
    openai_server.queue(status(503))
    embedder = OpenAIEmbedder("sk-test", "m", base_url=f"{openai_server.url}/v1")
    embedder._client = embedder._client.with_options(max_retries=0)
    with pytest.raises(ProviderUnavailable):
        embedder.embed(["x"])


def test_configured_embedder_needs_the_setting_and_the_key(tmp_path: Path) -> None:
    assert configured_embedder(make_config(tmp_path)) is None
    assert configured_embedder(make_config(tmp_path, ai={"embeddings": "openai"})) is None  # no key
    chosen = configured_embedder(make_config(tmp_path, ai={"embeddings": "gemini", "gemini_api_key": "k"}))
    assert chosen is not None and (chosen.name, chosen.model) == ("gemini", "gemini-embedding-001")
