"""In-process HTTP servers that speak the OpenAI Chat Completions and Gemini generateContent APIs.

Each server answers from a script: a list of replies used in order, then a default reply.
Embedding requests (OpenAI's /embeddings, Gemini's :batchEmbedContents) are answered apart, by
the deterministic test model in tests/ai/embedding_model.py, and recorded in `embedding_requests`.
A reply can succeed with some text, fail with an HTTP status, stall past the client's timeout,
or be a function of the request. Every request is recorded (path, headers, JSON body) so
tests can check what the real SDKs sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    text: str | None = None  # the model's answer text (status 200)
    raw: bytes | None = None  # a literal HTTP body, bypassing the API envelope
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0  # seconds to wait before answering
    finish: str = ""  # finish reason override ("length"/"MAX_TOKENS", "SAFETY"...)
    refusal: str = ""  # OpenAI structured-output refusal


def ok(data: dict[str, Any] | str, **kw: Any) -> Reply:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return Reply(text=text, **kw)


def status(code: int, message: str = "failure", headers: dict[str, str] | None = None) -> Reply:
    return Reply(status=code, text=message, headers=headers or {})


def stall(seconds: float) -> Reply:
    return Reply(stall=seconds, text='{"never": "seen"}')


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


Responder = Reply | Callable[[Recorded], Reply]


class FakeModelServer:
    """Base: a threaded HTTP server on 127.0.0.1 with a scripted list of replies."""

    name = "fake"

    def __init__(self) -> None:
        self.script: list[Responder] = []
        self.default: Responder = status(500, "no reply scripted")
        self.requests: list[Recorded] = []
        self.embedding_requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                rec = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                embedded = server.embeddings(rec)
                if embedded is not None:
                    with server._lock:
                        server.embedding_requests.append(rec)
                    reply = Reply(raw=embedded)
                else:
                    reply = server._next(rec)
                if reply.stall and server._closing.wait(reply.stall):
                    return
                status_code, payload, headers = server.render(rec, reply)
                try:
                    self.send_response(status_code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_POST = _handle
            do_GET = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _next(self, rec: Recorded) -> Reply:
        with self._lock:
            self.requests.append(rec)
            responder = self.script.pop(0) if self.script else self.default
        return responder(rec) if callable(responder) else responder

    def queue(self, *replies: Responder) -> None:
        with self._lock:
            self.script.extend(replies)

    def render(self, rec: Recorded, reply: Reply) -> tuple[int, bytes, dict[str, str]]:
        raise NotImplementedError

    def embeddings(self, rec: Recorded) -> bytes | None:
        """The body of an embeddings answer, or None when the request is not for embeddings."""
        return None

    def close(self) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()


class FakeOpenAI(FakeModelServer):
    """POST /v1/chat/completions, as api.openai.com (and OpenAI-compatible servers) answer it."""

    name = "openai"

    def render(self, rec: Recorded, reply: Reply) -> tuple[int, bytes, dict[str, str]]:
        if reply.raw is not None:
            return reply.status, reply.raw, reply.headers
        if reply.status != 200:
            kind = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(
                reply.status, "server_error"
            )
            body = {"error": {"message": reply.text, "type": kind, "param": None, "code": None}}
            return reply.status, json.dumps(body).encode(), reply.headers
        content = None if reply.refusal else reply.text
        body = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": rec.body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": reply.refusal or None},
                    "finish_reason": reply.finish or "stop",
                }
            ],
            "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
        }
        return 200, json.dumps(body, ensure_ascii=False).encode(), reply.headers

    def embeddings(self, rec: Recorded) -> bytes | None:
        return FakeOpenAIEmbeddings.body(rec) if rec.path.endswith("/embeddings") else None


def _embed(texts: list[str]) -> list[list[float]]:
    from tests.ai.embedding_model import embed_text

    return [embed_text(t) for t in texts]


class FakeOpenAIEmbeddings:
    """POST /v1/embeddings answered as the real API does (base64 float32 when the SDK asks)."""

    @staticmethod
    def body(rec: Recorded) -> bytes:
        import base64
        import struct

        texts = rec.body.get("input") or []
        texts = [texts] if isinstance(texts, str) else texts
        data = []
        for i, vector in enumerate(_embed(texts)):
            value: Any = vector
            if rec.body.get("encoding_format") == "base64":
                value = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": i, "embedding": value})
        return json.dumps({"object": "list", "data": data, "model": rec.body.get("model", ""),
                           "usage": {"prompt_tokens": 10, "total_tokens": 10}}).encode()


class FakeGemini(FakeModelServer):
    """POST /v1beta/models/<model>:generateContent, as generativelanguage.googleapis.com answers it."""

    name = "gemini"

    def render(self, rec: Recorded, reply: Reply) -> tuple[int, bytes, dict[str, str]]:
        if reply.raw is not None:
            return reply.status, reply.raw, reply.headers
        if reply.status != 200:
            state = {
                400: "INVALID_ARGUMENT",
                401: "UNAUTHENTICATED",
                403: "PERMISSION_DENIED",
                429: "RESOURCE_EXHAUSTED",
                500: "INTERNAL",
                503: "UNAVAILABLE",
            }.get(reply.status, "UNKNOWN")
            body = {"error": {"code": reply.status, "message": reply.text, "status": state}}
            return reply.status, json.dumps(body).encode(), reply.headers
        candidate: dict[str, Any] = {"index": 0, "finishReason": reply.finish or "STOP"}
        if reply.finish not in ("SAFETY",):
            candidate["content"] = {"role": "model", "parts": [{"text": reply.text}]}
        body = {
            "candidates": [candidate],
            "usageMetadata": {"promptTokenCount": 200, "candidatesTokenCount": 40, "totalTokenCount": 240},
            "modelVersion": "gemini-test",
        }
        return 200, json.dumps(body, ensure_ascii=False).encode(), reply.headers

    def embeddings(self, rec: Recorded) -> bytes | None:
        if not rec.path.endswith(":batchEmbedContents"):
            return None
        texts = ["".join(p.get("text", "") for p in r.get("content", {}).get("parts", []))
                 for r in rec.body.get("requests", [])]
        return json.dumps({"embeddings": [{"values": v} for v in _embed(texts)]}).encode()


def system_text(server: FakeModelServer, rec: Recorded) -> str:
    """The system prompt of a recorded request, whichever API it came through."""
    if isinstance(server, FakeOpenAI):
        return "\n".join(m["content"] for m in rec.body["messages"] if m["role"] == "system")
    parts = rec.body.get("systemInstruction", {}).get("parts", [])
    return "\n".join(p.get("text", "") for p in parts)


def conversation(server: FakeModelServer, rec: Recorded) -> list[tuple[str, str]]:
    """(role, text) of the non-system messages, roles normalised to user/assistant."""
    if isinstance(server, FakeOpenAI):
        return [(m["role"], m["content"]) for m in rec.body["messages"] if m["role"] != "system"]
    out = []
    for content in rec.body.get("contents", []):
        role = "assistant" if content.get("role") == "model" else "user"
        out.append((role, "".join(p.get("text", "") for p in content.get("parts", []))))
    return out
