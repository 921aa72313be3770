"""Both catalogs are complete, compiled, and used: Hebrew by default, English on request."""

from __future__ import annotations

import gettext
from typing import Any

from babel.messages.mofile import read_mo

from tests.conftest import csrf_token

from .catalogs import LANGUAGES, extract, load, po_path, problems


def test_every_message_is_translated_in_both_catalogs() -> None:
    found = problems()
    assert not found, "run `python -m tests.i18n.catalogs update`, translate, then `compile`:\n" + "\n".join(found)


def test_extraction_sees_templates_python_calls_and_error_messages() -> None:
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}
    assert "Skip to content" in ids  # a template
    assert "Wrong e-mail address or password." in ids  # a gettext call in a view
    assert "Please enter a valid e-mail address." in ids  # AccountError(...)
    assert "The password must be at least 10 characters long." in ids  # PasswordRejected(...)
    assert "This page does not exist, or it is not yours." in ids  # the MESSAGES table


def _key(value: Any) -> Any:
    return value if isinstance(value, str) else tuple(value)


def test_compiled_catalogs_match_the_po_files() -> None:
    for lang in LANGUAGES:
        with open(po_path(lang).with_suffix(".mo"), "rb") as fh:
            compiled = {_key(m.id): _key(m.string) for m in read_mo(fh) if m.id}
        source = {_key(m.id): _key(m.string) for m in load(lang) if m.id and not m.fuzzy}
        assert compiled == source, f"{lang}: run `python -m tests.i18n.catalogs compile`"
        with open(po_path(lang).with_suffix(".mo"), "rb") as fh:
            assert gettext.GNUTranslations(fh).gettext("Log in") == ("כניסה" if lang == "he" else "Log in")


def test_hebrew_is_the_default_and_the_choice_is_remembered(client: Any, users: Any) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="he" dir="rtl">' in page and "כניסה" in page
    token = csrf_token(client)
    response = client.post("/language/en", data={"csrf_token": token, "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in page and "Log in" in page and "כניסה" not in page
    # A failed login in English, then in Hebrew: the server's message follows the language.
    page = client.post("/login", data={"csrf_token": token, "email": "alice@example.com",
                                       "password": "wrong password"}).get_data(as_text=True)
    assert "Wrong e-mail address or password." in page
    client.post("/language/he", data={"csrf_token": token})
    page = client.post("/login", data={"csrf_token": token, "email": "alice@example.com",
                                       "password": "wrong password"}).get_data(as_text=True)
    assert 'כתובת דוא"ל או סיסמה שגויות.' in page or "כתובת דוא&#34;ל או סיסמה שגויות." in page


def test_a_logged_in_students_language_follows_them(client: Any, users: Any, store: Any) -> None:
    from tests.conftest import login

    store.users.update(users["alice"].id, language="en")
    login(client, users["alice"].email)
    page = client.get("/library").get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in page and "My courses" in page


def test_validation_errors_are_translated(client: Any, users: Any) -> None:
    token = csrf_token(client)
    page = client.post("/signup", data={"csrf_token": token, "email": "new@example.com", "password": "short",
                                        "password2": "short"}).get_data(as_text=True)
    assert "הסיסמה חייבת להכיל 10 תווים לפחות." in page
    response = client.get("/api/v1/jobs/nope", headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.get_json()["error"] == "נא להיכנס קודם."
