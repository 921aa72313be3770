"""The findings of the security review, one test each: every one failed on the code before the
session model, the throttle and the policy (see the commit that added them)."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from typing import Any

import pytest

from studybuddy.accounts import authenticate
from studybuddy.services import Services
from studybuddy.web import create_app

from ..conftest import PASSWORD, csrf_token, login


def _login(client: Any, email: str, password: str = PASSWORD, remember: bool = False) -> Any:
    data = {"email": email, "password": password, "csrf_token": csrf_token(client)}
    if remember:
        data["remember"] = "1"
    return client.post("/login", data=data)


def _cookies(client: Any) -> dict[str, str]:
    return {name: client.get_cookie(name).value for name in ("studybuddy_session", "remember_token")
            if client.get_cookie(name) is not None}


def _replay(app: Any, cookies: dict[str, str]) -> int:
    """GET /library in a fresh browser holding only the captured cookies."""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    return int(thief.get("/library").status_code)


# -- sessions ------------------------------------------------------------------------------------

def test_captured_cookies_do_not_work_after_logout(app: Any, client: Any, users: Any) -> None:
    assert _login(client, "alice@example.com", remember=True).status_code == 302
    captured = _cookies(client)
    assert set(captured) == {"studybuddy_session", "remember_token"}
    assert _replay(app, captured) == 200
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert _replay(app, captured) == 302
    assert _replay(app, {"remember_token": captured["remember_token"]}) == 302
    assert _replay(app, {"studybuddy_session": captured["studybuddy_session"]}) == 302


def test_remember_token_differs_per_login_and_is_not_the_user_id(app: Any, users: Any) -> None:
    first, second = app.test_client(), app.test_client()
    _login(first, "alice@example.com", remember=True)
    _login(second, "alice@example.com", remember=True)
    a, b = first.get_cookie("remember_token").value, second.get_cookie("remember_token").value
    assert a != b and users["alice"].id not in a


def test_password_change_ends_every_other_session(app: Any, client: Any, users: Any, store: Any) -> None:
    laptop = app.test_client()
    _login(laptop, "alice@example.com", remember=True)
    captured = _cookies(laptop)
    _login(client, "alice@example.com")
    form = {"current_password": PASSWORD, "new_password": "a brand new one", "new_password2": "a brand new one",
            "csrf_token": csrf_token(client)}
    assert client.post("/settings/password", data=form).status_code == 302
    assert client.get("/library").status_code == 200  # this browser goes on
    assert _replay(app, captured) == 302
    assert _replay(app, {"remember_token": captured["remember_token"]}) == 302
    assert store.users.get(users["alice"].id).session_version == 1


def test_log_out_everywhere_ends_every_session(app: Any, client: Any, users: Any) -> None:
    phone = app.test_client()
    _login(phone, "alice@example.com", remember=True)
    captured = _cookies(phone)
    _login(client, "alice@example.com", remember=True)
    assert client.post("/settings/sessions/end-all", data={"csrf_token": csrf_token(client)}).status_code == 302
    assert client.get_cookie("remember_token") is None
    assert client.get("/library").status_code == 302
    assert _replay(app, captured) == 302
    assert phone.get("/library").status_code == 302


def test_disabling_an_account_ends_its_sessions(app: Any, client: Any, users: Any, store: Any) -> None:
    from studybuddy.accounts import set_disabled

    _login(client, "alice@example.com", remember=True)
    captured = _cookies(client)
    set_disabled(store, users["alice"].id, True)
    assert _replay(app, captured) == 302
    r = _login(app.test_client(), "alice@example.com")
    assert r.status_code == 403 and "הושבת" in r.get_data(as_text=True)


def test_an_account_disabled_by_another_process_is_refused_at_the_next_request(app: Any, client: Any, users: Any,
                                                                              cfg: Any) -> None:
    """The web process keeps a session's reads while the database is unchanged
    (store.sqlite_version): a commit by any process must end that at once."""
    _login(client, "alice@example.com", remember=True)
    captured = _cookies(client)
    assert _replay(app, captured) == 200 and _replay(app, captured) == 200
    script = ("import sys; from studybuddy.store.sqlite import SqliteStore; "
              "from studybuddy.accounts import set_disabled; "
              "s = SqliteStore(sys.argv[1] + '/studybuddy.db', sys.argv[1] + '/blobs'); "
              "set_disabled(s, sys.argv[2], True); s.close()")
    subprocess.run([sys.executable, "-c", script, cfg.app.state_dir, users["alice"].id], check=True)
    assert _replay(app, captured) == 302
    assert _replay(app, {"remember_token": captured["remember_token"]}) == 302


def test_sessions_end_after_their_lifetime(app: Any, client: Any, users: Any, cfg: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _login(client, "alice@example.com", remember=True)
    captured = _cookies(client)
    later = time.time() + (cfg.web.remember_days + 1) * 86400
    monkeypatch.setattr(time, "time", lambda: later)
    assert _replay(app, {"remember_token": captured["remember_token"]}) == 302


def test_settings_list_sessions_and_revoke_one(app: Any, client: Any, users: Any, store: Any) -> None:
    phone = app.test_client()
    _login(phone, "alice@example.com", remember=True, )
    _login(client, "alice@example.com")
    page = client.get("/settings", headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"})
    ids = re.findall(r'data-session-id="([0-9a-f]+)"', page.get_data(as_text=True))
    assert len(ids) == 2
    phone_id = [s.id for s in store.accounts.sessions.list_for_user(users["alice"].id) if s.remember][0]
    token = csrf_token(client)
    # bob cannot end alice's session (positive control: alice can, on the same URL).
    bob = app.test_client()
    _login(bob, "bob@example.com")
    r = bob.post(f"/settings/sessions/{phone_id}/revoke", data={"csrf_token": csrf_token(bob)})
    assert r.status_code == 404 and phone.get("/library").status_code == 200
    assert client.post(f"/settings/sessions/{phone_id}/revoke", data={"csrf_token": token}).status_code == 302
    assert phone.get("/library").status_code == 302
    assert client.get("/library").status_code == 200


# -- throttling ----------------------------------------------------------------------------------

def test_login_is_throttled_after_failures_across_processes(app: Any, client: Any, users: Any, cfg: Any,
                                                            services: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = cfg.accounts.login_max_failures
    for _ in range(limit - 1):
        assert _login(client, "alice@example.com", "wrong password!").status_code == 401
    r = _login(client, "alice@example.com", "wrong password!")
    assert r.status_code == 429
    # Another web process on the same store, as after a restart: the right password still waits.
    other = Services(cfg, store=services.store, broker=services.broker)
    second = create_app(cfg, other).test_client()
    r = _login(second, "alice@example.com")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    text = r.get_data(as_text=True)
    assert "יותר מדי ניסיונות כניסה שנכשלו" in text and "דקה" in text
    second.post("/language/en", data={"csrf_token": csrf_token(second)})
    assert "Please wait 1 minute" in _login(second, "alice@example.com").get_data(as_text=True)
    # Once the wait is over, the right password works and forgives the failures.
    later = time.time() + cfg.accounts.login_lock_seconds + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert _login(second, "alice@example.com").status_code == 302
    assert services.store.accounts.throttle.get("account:alice@example.com") is None


def test_failures_reset_after_success(client: Any, users: Any, cfg: Any) -> None:
    for _ in range(cfg.accounts.login_max_failures - 1):
        _login(client, "alice@example.com", "wrong password!")
    assert _login(client, "alice@example.com").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    for _ in range(cfg.accounts.login_max_failures - 1):
        assert _login(client, "alice@example.com", "wrong password!").status_code == 401
    assert _login(client, "alice@example.com").status_code == 302


def test_admin_unlocks_an_account(app: Any, client: Any, users: Any, cfg: Any) -> None:
    for _ in range(cfg.accounts.login_max_failures):
        _login(client, "alice@example.com", "wrong password!")
    assert _login(client, "alice@example.com").status_code == 429
    admin = app.test_client()
    login(admin, "charlie@example.com")
    assert "account:alice@example.com" in admin.get("/admin").get_data(as_text=True)
    r = admin.post(f"/admin/users/{users['alice'].id}/unlock", data={"csrf_token": csrf_token(admin)})
    assert r.status_code == 303
    assert _login(client, "alice@example.com").status_code == 302


def test_address_throttle_counts_across_accounts(client: Any, users: Any, cfg: Any, app: Any) -> None:
    app_cfg = cfg.accounts
    for i in range(app_cfg.login_max_failures_per_address):
        _login(client, f"guess{i}@example.com", "wrong password!")
    assert _login(client, "bob@example.com").status_code == 429


# -- enumeration ---------------------------------------------------------------------------------

def _flash(client: Any, response: Any) -> str:
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>(.*?)</p>', page, re.S))


def test_signup_answers_alike_for_taken_and_new_addresses(app: Any, users: Any) -> None:
    answers = []
    for email in ("alice@example.com", "newcomer@example.com"):
        browser = app.test_client()
        r = browser.post("/signup", data={"email": email, "password": "a fine password 42",
                                          "password2": "a fine password 42", "csrf_token": csrf_token(browser)})
        answers.append((r.status_code, r.headers["Location"].replace(email.split("@")[0], "X"),
                        _flash(browser, r).replace(email, "X"), browser.get_cookie("remember_token")))
    assert answers[0] == answers[1]
    assert "כבר קיים" not in answers[0][2]


def test_login_and_reset_answer_alike_for_unknown_addresses(app: Any, users: Any, cfg: Any) -> None:
    a, b = app.test_client(), app.test_client()
    known = _login(a, "alice@example.com", "wrong password!")
    unknown = _login(b, "nobody@example.com", "wrong password!")
    assert known.status_code == unknown.status_code == 401
    def strip(page: str) -> str:
        return re.sub(r'value="[^"]*"|content="[^"]*"', "", page)

    assert strip(known.get_data(as_text=True)) == strip(unknown.get_data(as_text=True))


def _interleaved(measure: Any, first: list[Any], second: list[Any]) -> tuple[float, float]:
    """Median seconds of `measure` over both lists, taken in turns so that a busy machine slows
    both alike."""
    a, b = [], []
    for x, y in zip(first, second):
        a.append(measure(x))
        b.append(measure(y))
    return statistics.median(a), statistics.median(b)


def test_login_takes_as_long_for_an_unknown_address(cfg: Any, services: Any, users: Any) -> None:
    relaxed = cfg.replace(accounts={"login_max_failures": 1000, "login_max_failures_per_address": 1000})
    client = create_app(relaxed, Services(relaxed, store=services.store, broker=services.broker)).test_client()

    def attempt(email: str) -> float:
        token = csrf_token(client)
        started = time.perf_counter()
        client.post("/login", data={"email": email, "password": "wrong password!", "csrf_token": token})
        return time.perf_counter() - started

    attempt("alice@example.com")  # warm up
    known, unknown = _interleaved(attempt, ["alice@example.com"] * 9, ["nobody@example.com"] * 9)
    assert 0.5 <= unknown / known <= 2.0, (known, unknown)


def test_signup_takes_as_long_for_a_taken_address(client: Any, users: Any) -> None:
    def signup(email: str) -> float:
        token = csrf_token(client)
        started = time.perf_counter()
        r = client.post("/signup", data={"email": email, "password": "a fine password 42",
                                         "password2": "a fine password 42", "csrf_token": token})
        took = time.perf_counter() - started
        assert r.status_code == 302
        return took

    signup("warmup@example.com")
    taken, new = _interleaved(signup, ["alice@example.com"] * 7, [f"new{i}@example.com" for i in range(7)])
    assert 0.5 <= taken / new <= 2.0, (taken, new)


# -- password policy -----------------------------------------------------------------------------

@pytest.mark.parametrize("password, message", [
    ("password", "10 תווים לפחות"),
    ("12345678", "10 תווים לפחות"),
    ("1234567890", "נפוצה מדי"),
    ("qwertyuiop", "נפוצה מדי"),
    ("x" * 1025, "1024 תווים לכל היותר"),
])
def test_password_policy(client: Any, store: Any, password: str, message: str) -> None:
    r = client.post("/signup", data={"email": "dana@example.com", "password": password, "password2": password,
                                     "csrf_token": csrf_token(client)})
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    assert store.users.count() == 0


def test_an_overlong_password_never_logs_in_and_is_not_hashed(client: Any, users: Any) -> None:
    started = time.perf_counter()
    r = _login(client, "alice@example.com", PASSWORD + "x" * 2000)
    assert r.status_code == 401
    assert time.perf_counter() - started < 5
    assert authenticate(client.application.extensions["studybuddy"].store, "alice@example.com", "y" * 1025) is None


# -- request bodies ------------------------------------------------------------------------------

@pytest.mark.parametrize("body", ["[1, 2]", '"a string"', "42", "null", "{not json"])
def test_non_object_json_bodies_are_a_400(login_as: Any, users: Any, store: Any, body: str) -> None:
    from studybuddy.courses import create_course

    client = login_as("alice")
    course = create_course(store, users["alice"].id, "c")
    headers = {"X-CSRF-Token": csrf_token(client), "Content-Type": "application/json", "Accept": "application/json"}
    for url in ("/api/v1/courses", f"/courses/{course.id}/tools/summary", f"/api/v1/courses/{course.id}/documents/text",
                "/review/marks"):
        r = client.post(url, data=body, headers=headers)
        assert r.status_code == 400 and r.is_json, (url, r.status_code)
        assert r.get_json()["error"] == "גוף הבקשה חייב להיות אובייקט JSON.", url
    assert store.jobs.list_for_owner(users["alice"].id) == []


def test_csrf_tokens_expire(login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client = login_as("alice")
    token = csrf_token(client)
    later = time.time() + 2 * 86400
    monkeypatch.setattr(time, "time", lambda: later)
    r = client.post("/api/v1/courses", json={"name": "late"}, headers={"X-CSRF-Token": token})
    assert r.status_code in (302, 400, 401)
    assert r.status_code != 201


def test_ai_tools_can_wait_for_a_confirmed_address(cfg: Any, services: Any, users: Any, store: Any) -> None:
    from studybuddy.courses import create_course

    strict = cfg.replace(accounts={"require_verification_for_ai": True})
    app = create_app(strict, Services(strict, store=services.store, broker=services.broker))
    client = app.test_client()
    login(client, "alice@example.com")
    course = create_course(store, users["alice"].id, "c")
    headers = {"X-CSRF-Token": csrf_token(client), "Accept": "application/json"}
    r = client.post(f"/courses/{course.id}/tools/summary", json={}, headers=headers)
    assert r.status_code == 403 and "לאשר את כתובת הדוא״ל" in r.get_json()["error"]
    assert store.jobs.list_for_owner(users["alice"].id) == []
    store.users.update(users["alice"].id, email_verified=True)
    r = client.post(f"/courses/{course.id}/tools/summary", json={}, headers=headers)
    assert r.status_code != 403
