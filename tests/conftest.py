"""Shared fixtures: a temp state dir per test, real SQLite, the in-process broker, three users."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from typing import Any, Iterator, NoReturn

import pytest

from studybuddy.accounts import create_user
from studybuddy.config import Config, load_config
from studybuddy.services import Services
from studybuddy.store.models import User
from tests.monitor.helpers import SMTPServer, TLSCertificates

PASSWORD = "correct horse battery"
RABBIT_URL = os.environ.get("STUDYBUDDY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


# Queue prefixes of the test configs that point at the real broker; none may outlive the run.
BROKER_PREFIXES: set[str] = set()


def make_config(tmp_path: Path, **sections: dict[str, Any]) -> Config:
    base = load_config(env={})
    cfg = base.replace(
        app={"state_dir": str(tmp_path / "state")},
        web={"secret_key": "test-secret-key-not-for-production"},
        broker={"url": "memory://", "queue_prefix": f"t{uuid.uuid4().hex[:10]}."},
        worker={"reaper_interval_seconds": 0.2, "retry_backoff_seconds": 0.1, "lease_seconds": 30},
    )
    cfg = cfg.replace(**sections) if sections else cfg
    if cfg.broker.url.startswith("amqp"):
        BROKER_PREFIXES.add(cfg.broker.queue_prefix)
    return cfg


def leftover_queues(url: str, prefixes: set[str]) -> list[str]:
    """Which of the queues our tests would make under these prefixes still exist on the broker."""
    from kombu import Connection

    from studybuddy.jobs.broker import make_queues

    found = []
    with Connection(url, connect_timeout=5) as conn:
        for prefix in sorted(prefixes):
            for queue in make_queues(prefix).values():
                channel = conn.channel()
                try:
                    channel.queue_declare(queue=queue.name, passive=True)
                    found.append(queue.name)
                except conn.channel_errors:
                    pass  # 404: the queue is gone, as it should be
                finally:
                    try:
                        channel.close()
                    except Exception:  # noqa: BLE001 - a channel closed by the 404 is fine
                        pass
    return found


@pytest.fixture(scope="session", autouse=True)
def no_queues_left_behind() -> Iterator[None]:
    """After the run, the shared broker holds no queue that a test made."""
    yield
    if BROKER_PREFIXES and rabbit_available():
        left = leftover_queues(RABBIT_URL, BROKER_PREFIXES)
        assert not left, f"tests left queues on the shared broker: {left}"


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def services(cfg: Config) -> Iterator[Services]:
    s = Services(cfg)
    yield s
    s.close()


@pytest.fixture
def store(services: Services) -> Any:
    return services.store


@pytest.fixture
def users(store: Any) -> dict[str, User]:
    charlie = create_user(store, "charlie@example.com", PASSWORD, "Charlie")  # first: admin
    alice = create_user(store, "alice@example.com", PASSWORD, "Alice")
    bob = create_user(store, "bob@example.com", PASSWORD, "Bob")
    return {"alice": alice, "bob": bob, "charlie": charlie}


@pytest.fixture
def app(cfg: Config, services: Services) -> Any:
    from studybuddy.web import create_app

    application = create_app(cfg, services)
    application.config.update(TESTING=True)
    return application


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def csrf_token(client: Any) -> str:
    """The CSRF token of the client's session (as a page would embed it: the log-in form's field
    for a visitor, the page's csrf-token meta for a student)."""
    import re

    page = client.get("/login" if not _logged_in(client) else "/library").get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _logged_in(client: Any) -> bool:
    with client.session_transaction() as sess:
        return "_user_id" in sess


def login(client: Any, email: str, password: str = PASSWORD) -> None:
    token = csrf_token(client)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def login_as(client: Any, users: dict[str, User]) -> Any:
    def do(name: str) -> Any:
        login(client, users[name].email)
        return client

    return do


def skip_or_fail_in_ci(message: str) -> NoReturn:
    """A missing requirement skips the test loudly here; under CI=true it is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: this test must run)")
    pytest.skip(message)


def rabbit_available(url: str = RABBIT_URL) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def rabbit_url() -> str:
    if not rabbit_available():
        skip_or_fail_in_ci("RabbitMQ is NOT reachable on 127.0.0.1:5672 — broker tests skipped")
    return RABBIT_URL


# -- a real SMTP server on loopback (aiosmtpd, STARTTLS with a test CA) ------------------------
@pytest.fixture
def certs(tmp_path: Path) -> TLSCertificates:
    return TLSCertificates(tmp_path)


@pytest.fixture
def smtp(certs: TLSCertificates) -> Iterator[SMTPServer]:
    server = SMTPServer("starttls", certs).start()
    yield server
    server.stop()
