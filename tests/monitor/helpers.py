"""Shared pieces of the monitor tests: a recording `systemctl`, an injected clock, a loopback SMTP server."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller

FAKE_SYSTEMCTL = """#!/bin/sh
# Records its arguments, then behaves as told by files next to it.
dir=$(dirname "$0")
printf '%s\\n' "$*" >> "$dir/calls.log"
if [ -f "$dir/sleep" ]; then sleep "$(cat "$dir/sleep")"; fi
if [ "$1" = "show" ] && [ -f "$dir/show.out" ]; then cat "$dir/show.out"; fi
if [ -f "$dir/stderr" ]; then cat "$dir/stderr" >&2; fi
if [ -f "$dir/exit" ]; then exit "$(cat "$dir/exit")"; fi
exit 0
"""


class FakeSystemctl:
    """A real executable standing in for systemctl: the restarter runs it as a subprocess."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "systemctl"
        self.path.write_text(FAKE_SYSTEMCTL)
        self.path.chmod(0o755)

    def calls(self) -> list[str]:
        log = self.dir / "calls.log"
        return log.read_text().splitlines() if log.exists() else []

    def fail_with(self, code: int, stderr: str = "") -> None:
        (self.dir / "exit").write_text(str(code))
        (self.dir / "stderr").write_text(stderr)

    def succeed(self) -> None:
        for name in ("exit", "stderr", "sleep"):
            (self.dir / name).unlink(missing_ok=True)

    def hang(self, seconds: float) -> None:
        (self.dir / "sleep").write_text(str(seconds))

    def show_output(self, text: str) -> None:
        (self.dir / "show.out").write_text(text)


class Clock:
    def __init__(self, start: float = 1_780_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[dict[str, Any]] = field(default_factory=list)
    tls_used: list[bool] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} mails, got {len(self.messages)}")

    def subjects(self) -> list[str]:
        with self.lock:
            return [subject(m) for m in self.messages]


class _Handler:
    def __init__(self, inbox: Inbox):
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.inbox.lock:
            self.inbox.messages.append(msg)  # type: ignore[arg-type]
            self.inbox.envelopes.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos)})
            transport = getattr(server, "transport", None)
            implicit = transport is not None and transport.get_extra_info("ssl_object") is not None
            self.inbox.tls_used.append(session.ssl is not None or implicit)
        return "250 OK"


class TLSCertificates:
    """A throwaway CA and a localhost certificate (trustme)."""

    def __init__(self, directory: Path):
        self.ca = trustme.CA()
        self.cert = self.ca.issue_cert("localhost", "127.0.0.1")
        self.ca_file = directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.cert.configure_cert(ctx)
        return ctx


class SMTPServer:
    """aiosmtpd on loopback: plain, STARTTLS (required) or implicit TLS."""

    def __init__(self, mode: str, certs: TLSCertificates | None = None,
                 credentials: tuple[str, str] | None = None):
        self.inbox = Inbox()
        self.mode = mode
        kwargs: dict[str, Any] = {}
        if credentials is not None:
            def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
                from aiosmtpd.smtp import AuthResult

                ok = (data.login.decode(), data.password.decode()) == credentials
                return AuthResult(success=ok)

            kwargs.update(authenticator=authenticator, auth_require_tls=True, auth_required=True)
        if mode == "starttls":
            assert certs is not None
            kwargs.update(tls_context=certs.server_context(), require_starttls=True)
        elif mode == "tls":
            assert certs is not None
            kwargs.update(ssl_context=certs.server_context())
        self.port = free_port()
        self.controller = Controller(_Handler(self.inbox), hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost", **kwargs)

    def start(self) -> SMTPServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def subject(msg: EmailMessage) -> str:
    """The Subject as a reader sees it (long headers are folded on the wire)."""
    return " ".join(str(msg["Subject"]).split())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def decode_parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "expected multipart/alternative"
    return text.get_content(), html.get_content()


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)


__all__ = ["Clock", "FakeSystemctl", "SMTPServer", "TLSCertificates", "decode_parts", "subject"]
