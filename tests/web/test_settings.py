"""Profile and settings: display name, language, password; bad input changes nothing."""

from __future__ import annotations

from typing import Any

from studybuddy.accounts import authenticate
from tests.conftest import PASSWORD, csrf_token


def test_profile_changes_name_and_language(login_as: Any, users: Any, store: Any) -> None:
    client = login_as("alice")
    page = client.get("/settings").get_data(as_text=True)
    assert 'value="Alice"' in page and "alice@example.com" in page
    response = client.post("/settings/profile", data={"csrf_token": csrf_token(client), "display_name": "אליס",
                                                      "language": "en"})
    assert response.status_code == 302
    user = store.users.get(users["alice"].id)
    assert user.display_name == "אליס" and user.language == "en"
    page = client.get("/settings").get_data(as_text=True)
    assert '<html lang="en"' in page and "Your settings were saved." in page


def test_bad_profile_input_changes_nothing(login_as: Any, users: Any, store: Any) -> None:
    client = login_as("alice")
    for data, message in (({"display_name": " ", "language": "he"}, "נא להזין שם תצוגה."),
                          ({"display_name": "x" * 81, "language": "he"}, "שם התצוגה ארוך מדי"),
                          ({"display_name": "Alice B", "language": "fr"}, "נא לבחור שפה מהרשימה.")):
        response = client.post("/settings/profile", data={"csrf_token": csrf_token(client), **data})
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    user = store.users.get(users["alice"].id)
    assert user.display_name == "Alice" and user.language == ""


def test_password_change(login_as: Any, users: Any, store: Any) -> None:
    client = login_as("alice")
    form = {"current_password": "not it", "new_password": "a brand new one", "new_password2": "a brand new one"}
    response = client.post("/settings/password", data={"csrf_token": csrf_token(client), **form})
    assert response.status_code == 400 and "הסיסמה הנוכחית שגויה." in response.get_data(as_text=True)
    form = {"current_password": PASSWORD, "new_password": "short", "new_password2": "short"}
    response = client.post("/settings/password", data={"csrf_token": csrf_token(client), **form})
    assert response.status_code == 400 and "10 תווים לפחות" in response.get_data(as_text=True)
    form = {"current_password": PASSWORD, "new_password": "a brand new one", "new_password2": "another one!"}
    response = client.post("/settings/password", data={"csrf_token": csrf_token(client), **form})
    assert response.status_code == 400 and "אינן זהות" in response.get_data(as_text=True)
    assert authenticate(store, "alice@example.com", PASSWORD) is not None
    form = {"current_password": PASSWORD, "new_password": "a brand new one", "new_password2": "a brand new one"}
    assert client.post("/settings/password", data={"csrf_token": csrf_token(client), **form}).status_code == 302
    assert authenticate(store, "alice@example.com", "a brand new one") is not None
    assert authenticate(store, "alice@example.com", PASSWORD) is None


def test_settings_need_an_account(client: Any) -> None:
    assert client.get("/settings").status_code == 302
