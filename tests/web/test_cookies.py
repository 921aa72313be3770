"""Signed-cookie sessions opened from memory: the same cookies as Flask's own, still held to their
lifetime, never shared between requests."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface

import studybuddy.web.cookies as cookies
from studybuddy.web.cookies import KeptCookieSessions


def _app(interface: Any) -> Flask:
    app = Flask("cookies")
    app.secret_key = "a test secret"
    app.session_interface = interface

    @app.route("/put/<value>")
    def put(value: str) -> str:
        session["value"] = value
        session.setdefault("_flashes", []).append(("info", value))
        return "ok"

    @app.route("/get")
    def get() -> str:
        return f"{session.get('value')}|{len(session.get('_flashes', []))}"

    @app.route("/add")
    def add() -> str:
        session["_flashes"].append(("info", "more"))  # changed in place, not saved: the cookie stays
        session.modified = False
        return str(len(session["_flashes"]))

    return app


def _cookie(app: Flask, path: str) -> str:
    client = app.test_client()
    client.get(path)
    found = client.get_cookie("session")
    assert found is not None
    return found.value


def _get(app: Flask, cookie: str) -> str:
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client.get("/get").get_data(as_text=True)


def test_cookies_written_by_either_interface_open_in_the_other() -> None:
    ours, flasks = _app(KeptCookieSessions()), _app(SecureCookieSessionInterface())
    assert _get(ours, _cookie(flasks, "/put/שלום")) == "שלום|1"
    assert _get(flasks, _cookie(ours, "/put/hello")) == "hello|1"


def test_a_changed_or_foreign_cookie_opens_an_empty_session() -> None:
    ours = _app(KeptCookieSessions())
    good = _cookie(ours, "/put/x")
    assert _get(ours, good) == "x|1"
    assert _get(ours, good[:-2] + ("AA" if not good.endswith("AA") else "BB")) == "None|0"
    other = _app(KeptCookieSessions())
    other.secret_key = "another secret"
    assert _get(other, good) == "None|0"


def test_a_kept_cookie_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = _app(KeptCookieSessions())
    cookie = _cookie(ours, "/put/x")
    assert _get(ours, cookie) == "x|1"  # verified and kept
    lifetime = ours.permanent_session_lifetime.total_seconds()
    real_now = cookies._now()
    monkeypatch.setattr(cookies, "_now", lambda: real_now + lifetime + 5)
    assert _get(ours, cookie) == "None|0"


def test_a_request_changing_its_session_in_place_leaves_the_next_one_alone() -> None:
    ours = _app(KeptCookieSessions())
    cookie = _cookie(ours, "/put/x")
    client = ours.test_client()
    client.set_cookie("session", cookie)
    assert [client.get("/add").get_data(as_text=True) for _ in range(3)] == ["2", "2", "2"]


def test_only_so_many_cookies_are_kept() -> None:
    interface = KeptCookieSessions(kept=3)
    ours = _app(interface)
    for n in range(6):
        assert _get(ours, _cookie(ours, f"/put/{n}")) == f"{n}|1"
    assert len(interface._opened) == 3
