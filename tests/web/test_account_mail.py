"""Confirmation and reset mails reach a real SMTP server on loopback (aiosmtpd, STARTTLS); their
links work once; expired, reused and made-up links get a clear page."""

from __future__ import annotations

import re
import statistics
import time
from typing import Any

import pytest

from studybuddy.accounts import authenticate
from studybuddy.config import Config
from studybuddy.services import Services
from studybuddy.web import create_app

from ..conftest import PASSWORD, csrf_token, login
from ..monitor.helpers import SMTPServer, TLSCertificates, decode_parts, subject


@pytest.fixture
def mail_cfg(cfg: Config, smtp: SMTPServer, certs: TLSCertificates) -> Config:
    return cfg.replace(
        app={"base_url": "https://studybuddy.test"},
        mail={"enabled": True, "host": "localhost", "port": smtp.port, "security": "starttls",
              "ca_file": str(certs.ca_file), "sender": "studybuddy@studybuddy.test",
              "admin_to": ["admin@studybuddy.test"], "timeout_seconds": 5.0})


@pytest.fixture
def mail_app(mail_cfg: Config, services: Services) -> Any:
    application = create_app(mail_cfg, Services(mail_cfg, store=services.store, broker=services.broker))
    application.config.update(TESTING=True)
    return application


def _link(message: Any) -> str:
    text, html = decode_parts(message)
    found = re.findall(r"https://studybuddy\.test(/\S+)", text)
    assert found and found[0] in html, text
    return found[0]


def _last_to(smtp: SMTPServer, count: int, to: str) -> Any:
    messages = smtp.inbox.wait_for(count)
    assert smtp.inbox.envelopes[count - 1]["to"] == [to] and all(smtp.inbox.tls_used)
    return messages[count - 1]


def test_signup_mails_a_confirmation_link_that_works_once(mail_app: Any, smtp: SMTPServer, store: Any) -> None:
    client = mail_app.test_client()
    r = client.post("/signup", data={"email": "dana@example.com", "password": PASSWORD, "password2": PASSWORD,
                                     "display_name": "דנה", "csrf_token": csrf_token(client)})
    assert r.status_code == 302
    message = _last_to(smtp, 1, "dana@example.com")
    assert subject(message) == "אישור כתובת הדוא״ל"
    link = _link(message)
    assert "שלום דנה" in decode_parts(message)[0]
    page = client.get(link)
    assert page.status_code == 200 and "אישור הכתובת שלי" in page.get_data(as_text=True)
    assert not store.users.get_by_email("dana@example.com").email_verified  # a GET confirms nothing
    assert client.post(link, data={"csrf_token": csrf_token(client)}).status_code == 302
    assert store.users.get_by_email("dana@example.com").email_verified
    for method in ("get", "post"):
        again = getattr(client, method)(link, data={"csrf_token": csrf_token(client)})
        assert again.status_code == 410 and "כבר נעשה שימוש בקישור הזה" in again.get_data(as_text=True)


def test_a_taken_address_gets_a_mail_that_says_so(mail_app: Any, smtp: SMTPServer, users: Any) -> None:
    client = mail_app.test_client()
    client.post("/signup", data={"email": "alice@example.com", "password": "another pass 42",
                                 "password2": "another pass 42", "csrf_token": csrf_token(client)})
    message = _last_to(smtp, 1, "alice@example.com")
    assert subject(message) == "כבר יש לך חשבון ב-StudyBuddy"
    assert authenticate(mail_app.extensions["studybuddy"].store, "alice@example.com", PASSWORD) is not None


def test_expired_and_made_up_links_get_a_clear_page(mail_app: Any, smtp: SMTPServer, mail_cfg: Config,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    client = mail_app.test_client()
    client.post("/signup", data={"email": "dana@example.com", "password": PASSWORD, "password2": PASSWORD,
                                 "csrf_token": csrf_token(client)})
    link = _link(_last_to(smtp, 1, "dana@example.com"))
    bad = client.get(link[:-3] + "xyz")
    assert bad.status_code == 400 and "הקישור אינו תקין" in bad.get_data(as_text=True)
    later = time.time() + mail_cfg.accounts.verify_link_hours * 3600 + 120
    monkeypatch.setattr(time, "time", lambda: later)
    expired = client.get(link)
    assert expired.status_code == 410 and "תוקף הקישור פג" in expired.get_data(as_text=True)


def test_password_reset_by_mail_works_once_and_ends_sessions(mail_app: Any, smtp: SMTPServer, users: Any,
                                                             store: Any) -> None:
    laptop = mail_app.test_client()
    login(laptop, "alice@example.com")
    client = mail_app.test_client()
    r = client.post("/forgot", data={"email": "Alice@Example.com", "csrf_token": csrf_token(client)})
    assert r.status_code == 302
    message = _last_to(smtp, 1, "alice@example.com")
    assert subject(message) == "איפוס הסיסמה שלך ב-StudyBuddy"
    link = _link(message)
    assert client.get(link).status_code == 200
    weak = client.post(link, data={"password": "1234567890", "password2": "1234567890",
                                   "csrf_token": csrf_token(client)})
    assert weak.status_code == 400 and "נפוצה מדי" in weak.get_data(as_text=True)
    done = client.post(link, data={"password": "a new long password", "password2": "a new long password",
                                   "csrf_token": csrf_token(client)})
    assert done.status_code == 302 and "/login" in done.headers["Location"]
    assert authenticate(store, "alice@example.com", "a new long password") is not None
    assert authenticate(store, "alice@example.com", PASSWORD) is None
    assert laptop.get("/library").status_code == 302
    again = client.post(link, data={"password": "yet another password", "password2": "yet another password",
                                    "csrf_token": csrf_token(client)})
    assert again.status_code == 410 and "כבר נעשה שימוש" in again.get_data(as_text=True)
    assert authenticate(store, "alice@example.com", "a new long password") is not None


def test_reset_answers_alike_and_in_like_time_for_unknown_addresses(mail_app: Any, smtp: SMTPServer,
                                                                    users: Any) -> None:
    def ask(email: str) -> tuple[float, str]:
        client = mail_app.test_client()
        token = csrf_token(client)
        started = time.perf_counter()
        r = client.post("/forgot", data={"email": email, "csrf_token": token})
        took = time.perf_counter() - started
        page = client.get(r.headers["Location"]).get_data(as_text=True)
        return took, " ".join(re.findall(r'class="flash[^"]*"[^>]*>(.*?)</p>', page, re.S))

    known, unknown = [], []
    for _ in range(3):  # in turns, so that a busy machine slows both alike
        known.append(ask("alice@example.com"))
        unknown.append(ask("nobody@example.com"))
    assert {m for _, m in known} == {m for _, m in unknown} and len({m for _, m in known}) == 1
    ratio = statistics.median(t for t, _ in unknown) / statistics.median(t for t, _ in known)
    assert 0.5 <= ratio <= 2.0, ratio
    messages = smtp.inbox.wait_for(6)
    assert subject(messages[-1]) == "איפוס הסיסמה שלך ב-StudyBuddy"
    assert "אין חשבון שמשתמש בה" in decode_parts(messages[-1])[0]


def test_without_mail_the_reset_page_says_to_ask_the_administrator(client: Any) -> None:
    page = client.get("/forgot").get_data(as_text=True)
    assert "יש לפנות למנהל/ת" in page and 'name="email"' not in page
