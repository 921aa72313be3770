"""waitress in front of the app: a body over its route's limit is refused from its Content-Length,
before a byte of it is read, with our own page or JSON in the student's language."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from studybuddy.web.serve import body_limit_for, create_our_server, request_body_limit


@pytest.fixture
def live(app: Any, cfg: Any) -> Iterator[int]:
    server = create_our_server(app, "127.0.0.1", 0, threads=2, max_body=request_body_limit(cfg),
                               body_limit_for=body_limit_for(app, cfg))

    def run() -> None:
        try:
            server.run()
        except OSError:
            pass  # closed under the loop at the end of the test

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield int(server.effective_port)
    server.close()
    thread.join(5)


def _send_headers_only(port: int, path: str, length: int, accept: str = "text/html",
                       cookie: str = "") -> tuple[int, dict[str, str], bytes]:
    """Announce a body of `length` bytes, send none of it, and read what comes back."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {length}\r\nAccept: {accept}\r\n" + (f"Cookie: {cookie}\r\n" if cookie else "")
                + "\r\n")
        sock.sendall(head.encode())
        data = b""
        try:
            while b"\r\n\r\n" not in data or len(data) < data.find(b"\r\n\r\n") + 4 + _length(data):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            raise AssertionError(f"no answer: the server is waiting to read the {length}-byte body") from None
    header, _, body = data.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def _length(data: bytes) -> int:
    header = data.partition(b"\r\n\r\n")[0].decode("latin-1").lower()
    for line in header.split("\r\n"):
        if line.startswith("content-length:"):
            return int(line.split(":", 1)[1])
    return 0


def test_an_oversized_login_body_is_refused_unread_with_our_page(live: int) -> None:
    status, headers, body = _send_headers_only(live, "/login", 5 * 1024 * 1024)
    assert status == 413
    assert headers["content-type"].startswith("text/html")
    page = body.decode()
    assert 'lang="he"' in page and "הבקשה גדולה מדי" in page and "waitress" not in page


def test_the_refusal_is_json_for_the_api_and_in_english_when_chosen(live: int, app: Any) -> None:
    status, headers, body = _send_headers_only(live, "/api/v1/courses", 5 * 1024 * 1024, accept="application/json")
    assert status == 413 and headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"] == "הבקשה גדולה מדי."
    client = app.test_client()
    client.get("/login")
    client.post("/language/en")  # a visitor's choice needs no token
    cookie = f"studybuddy_session={client.get_cookie('studybuddy_session').value}"
    status, _headers, body = _send_headers_only(live, "/login", 5 * 1024 * 1024, cookie=cookie)
    assert status == 413 and "The request is too large." in body.decode() and 'lang="en"' in body.decode()


def test_an_upload_of_the_same_size_is_read(live: int) -> None:
    """Positive control: the upload route's limit is the whole upload, so the server waits for it."""
    with pytest.raises(AssertionError, match="waiting to read"):
        _send_headers_only(live, "/api/v1/courses/abc/documents", 5 * 1024 * 1024)


def test_limits_follow_the_route(app: Any, cfg: Any) -> None:
    limit = body_limit_for(app, cfg)
    assert limit("POST", "/login") == cfg.web.max_request_kb * 1024
    assert limit("POST", "/courses/x/documents") == request_body_limit(cfg)
    assert limit("POST", "/api/v1/courses/x/documents/text") >= cfg.ingest.max_paste_chars * 4
    assert limit("POST", "/no/such/route") == cfg.web.max_request_kb * 1024


@pytest.mark.parametrize("raw", [b"GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n",
                                 b"GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", b"BLAH\r\n\r\n"])
def test_a_request_broken_before_its_path_is_read_gets_our_page(live: int, raw: bytes,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """waitress refuses it while reading the first line or the headers: there is no path to render
    the page for, and the page must not need one."""
    with socket.create_connection(("127.0.0.1", live), timeout=3) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    header, _, body = data.partition(b"\r\n\r\n")
    assert header.split(b"\r\n")[0].split()[1] == b"400"
    assert b"Content-Type: text/html" in header and 'lang="he"' in body.decode()
    assert "could not render" not in caplog.text
