"""Accounts, CSRF, courses and the job API, with real SQLite under the app."""

from __future__ import annotations

import re
from typing import Any

from studybuddy.jobs import submit_job
from studybuddy.store.models import Artifact, Document, new_id

from ..conftest import PASSWORD, csrf_token, login


def test_signup_first_account_is_admin_and_emails_are_unique(client: Any, store: Any) -> None:
    token = csrf_token(client)
    r = client.post("/signup", data={"email": "First@Example.com", "password": PASSWORD,
                                      "password2": PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    first = store.users.get_by_email("first@example.com")
    assert first.is_admin
    token = csrf_token(client)
    r = client.post("/signup", data={"email": "FIRST@example.com ", "password": "another password 123",
                                      "password2": "another password 123", "csrf_token": token})
    # The same answer as for a new address: nothing tells that this one is taken.
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert store.users.count() == 1
    assert store.users.get(first.id).password_hash == first.password_hash
    r = client.post("/signup", data={"email": "second@example.com", "password": PASSWORD,
                                      "password2": PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and not store.users.get_by_email("second@example.com").is_admin


def test_signup_rejects_bad_input_and_changes_nothing(client: Any, store: Any) -> None:
    token = csrf_token(client)
    for data, message in [
        ({"email": "not-an-email", "password": PASSWORD}, "תקינה"),  # Hebrew is the default language
        ({"email": "a@example.com", "password": "short"}, "10 תווים לפחות"),
        ({"email": "a@example.com", "password": PASSWORD, "password2": "other pass"}, "אינן זהות"),
    ]:
        data.setdefault("password2", data["password"])
        r = client.post("/signup", data={**data, "csrf_token": token})
        assert r.status_code == 400 and message in r.get_data(as_text=True)
    assert store.users.count() == 0


def test_login_wrong_password_and_logout(client: Any, users: Any) -> None:
    token = csrf_token(client)
    r = client.post("/login", data={"email": "alice@example.com", "password": "wrong password",
                                     "csrf_token": token})
    assert r.status_code == 401 and "או סיסמה שגויות" in r.get_data(as_text=True)
    assert client.get("/library").status_code == 302
    login(client, "ALICE@example.com")
    assert client.get("/library").status_code == 200
    r = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert r.status_code == 302 and "cache" in r.headers["Clear-Site-Data"]
    assert client.get("/library").status_code == 302


def test_remember_me_does_not_survive_logout(client: Any, users: Any) -> None:
    token = csrf_token(client)
    r = client.post("/login", data={"email": "alice@example.com", "password": PASSWORD, "remember": "1",
                                     "csrf_token": token})
    assert r.status_code == 302 and client.get_cookie("remember_token") is not None
    assert client.get("/library").status_code == 200
    r = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert r.status_code == 302
    assert client.get_cookie("remember_token") is None
    assert client.get("/library").status_code == 302
    assert "Alice" not in client.get("/library", follow_redirects=True).get_data(as_text=True)


def test_cookies_are_httponly_and_samesite(client: Any, users: Any) -> None:
    token = csrf_token(client)
    r = client.post("/login", data={"email": "alice@example.com", "password": PASSWORD, "csrf_token": token})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookies_when_configured(cfg: Any, services: Any, users: Any) -> None:
    from studybuddy.web import create_app

    app = create_app(cfg.replace(web={"secure_cookies": True}), services)
    client = app.test_client()
    token = csrf_token(client)
    r = client.post("/login", data={"email": "alice@example.com", "password": PASSWORD, "csrf_token": token},
                    base_url="https://localhost")
    assert "Secure" in r.headers["Set-Cookie"]


def test_state_changes_need_the_csrf_token(client: Any, users: Any, store: Any) -> None:
    login(client, "alice@example.com")
    r = client.post("/library", data={"name": "No token"})
    assert r.status_code == 400 and "תוקף הטופס פג" in r.get_data(as_text=True)
    r = client.post("/api/v1/courses", json={"name": "No token"})
    assert r.status_code == 400 and r.is_json
    assert store.courses.list_for_owner(users["alice"].id) == []
    r = client.post("/api/v1/courses", json={"name": "With header"}, headers={"X-CSRF-Token": csrf_token(client)})
    assert r.status_code == 201


def test_course_create_rename_delete_cascades(client: Any, users: Any, store: Any) -> None:
    login(client, "alice@example.com")
    token = csrf_token(client)
    r = client.post("/library", data={"name": "  מבוא   לסטטיסטיקה ", "csrf_token": token})
    assert r.status_code == 302
    course = store.courses.list_for_owner(users["alice"].id)[0]
    assert course.name == "מבוא לסטטיסטיקה"
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "מבוא לסטטיסטיקה" in page
    assert client.post(f"/courses/{course.id}/rename", data={"name": "", "csrf_token": token}).status_code == 400
    client.post(f"/courses/{course.id}/rename", data={"name": "סטטיסטיקה", "csrf_token": token})
    assert store.courses.get(course.id).name == "סטטיסטיקה"
    blob = store.blobs.put(b"%PDF-1.4 test")
    doc = store.documents.add(Document(id=new_id(), course_id=course.id, owner_id=users["alice"].id,
                                       display_name="a.pdf", blob_id=blob))
    store.artifacts.add(Artifact(id=new_id(), owner_id=users["alice"].id, course_id=course.id,
                                 kind="summary", content={}))
    r = client.post(f"/courses/{course.id}/delete", data={"csrf_token": token})
    assert r.status_code == 302
    assert store.courses.get(course.id) is None and store.documents.get(doc.id) is None
    assert not store.blobs.exists(blob) and store.artifacts.list_for_course(course.id) == []


def test_job_api_for_the_owner(client: Any, users: Any, services: Any) -> None:
    job = submit_job(services, "ping", users["alice"].id, params={"queue": "homework"})
    login(client, "alice@example.com")
    body = client.get(f"/api/v1/jobs/{job.id}").get_json()
    assert body["id"] == job.id and body["state"] == "queued" and body["type"] == "ping"
    assert client.get("/api/v1/jobs/nonexistent").status_code == 404


def test_language_switch_is_remembered(client: Any, users: Any, store: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'lang="he" dir="rtl"' in page
    token = csrf_token(client)
    client.post("/language/en", data={"csrf_token": token, "next": "/"})
    assert 'lang="en" dir="ltr"' in client.get("/").get_data(as_text=True)
    login(client, "alice@example.com")
    client.post("/language/he", data={"csrf_token": csrf_token(client)})
    assert store.users.get(users["alice"].id).language == "he"


def test_security_headers(client: Any) -> None:
    r = client.get("/")
    csp = r.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert not re.search(r"<script(?![^>]*\bsrc=)", r.get_data(as_text=True)), "inline script found"
