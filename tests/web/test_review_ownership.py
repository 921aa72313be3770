"""Every review, deck, progress and import route: bob, with a course of his own, gets 404 for
alice's course, deck and card ids and changes nothing; alice succeeds on the very same URL."""

from __future__ import annotations

import io
from typing import Any

import pytest

from studybuddy.courses import create_course
from studybuddy.store.cards import Card, Deck
from studybuddy.store.models import new_id

from ..conftest import csrf_token, login

AREAS = ("review.", "decks.", "review_stats.", "review_settings.")
OWNED_ARGS = {"course_id", "deck_id", "card_id"}


@pytest.fixture
def alices(users: Any, store: Any) -> dict[str, Any]:
    alice = users["alice"].id
    course = create_course(store, alice, "הקורס של אליס")
    deck = store.decks.add(Deck(id=new_id(), owner_id=alice, course_id=course.id, name="חפיסה"))
    other = store.decks.add(Deck(id=new_id(), owner_id=alice, course_id=course.id, name="עוד חפיסה"))
    card = store.cards.add(Card(id=new_id(), owner_id=alice, course_id=course.id, deck_id=deck.id,
                                front="שאלה של אליס", back="תשובה של אליס"))
    create_course(store, users["bob"].id, "הקורס של בוב")
    return {"course": course, "deck": deck, "other": other, "card": card}


def requests_for(things: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(endpoint, method, url, request options) for every route that takes an owned id."""
    course, deck, other, card = things["course"].id, things["deck"].id, things["other"].id, things["card"].id
    csv = {"file": (io.BytesIO("פוטוסינתזה\tהפיכת אור לסוכר\n".encode()), "cards.tsv")}
    return [
        ("review.study_course", "GET", f"/review/courses/{course}/study", {}),
        ("review.study_deck", "GET", f"/review/decks/{deck}/study", {}),
        ("review.edit_json", "POST", f"/review/cards/{card}/edit", {"json": {"front": "ש", "back": "ת"}}),
        ("review.suspend_json", "POST", f"/review/cards/{card}/suspend", {"json": {}}),
        ("review.bury_json", "POST", f"/review/cards/{card}/bury", {"json": {}}),
        ("review_stats.course", "GET", f"/review/courses/{course}/progress", {}),
        ("decks.view", "GET", f"/review/decks/{deck}", {}),
        ("decks.create", "POST", f"/review/courses/{course}/decks", {"data": {"name": "חדשה"}}),
        ("decks.rename", "POST", f"/review/decks/{deck}/rename", {"data": {"name": "שם חדש"}}),
        ("decks.add", "POST", f"/review/decks/{deck}/cards", {"data": {"front": "ש", "back": "ת"}}),
        ("decks.edit", "POST", f"/review/cards/{card}", {"data": {"front": "ש2", "back": "ת2"}}),
        ("decks.suspension", "POST", f"/review/cards/{card}/suspension", {"data": {"suspended": "0"}}),
        ("decks.move", "POST", f"/review/decks/{deck}/move", {"data": {"target": other, "card": card}}),
        ("decks.export_deck", "GET", f"/review/decks/{deck}/export.apkg", {}),
        ("decks.export_course", "GET", f"/review/courses/{course}/export.csv", {}),
        ("decks.import_file", "POST", f"/review/courses/{course}/import", {"data": csv}),
        ("decks.delete_card", "POST", f"/review/cards/{card}/delete", {"data": {}}),
        ("decks.delete", "POST", f"/review/decks/{deck}/delete", {"data": {}}),
    ]


def _send(client: Any, method: str, url: str, options: dict[str, Any], token: str) -> Any:
    options = {k: (dict(v) if isinstance(v, dict) else v) for k, v in options.items()}
    if "data" in options:
        options["data"]["csrf_token"] = token
        options["data"] = {k: ((io.BytesIO(v[0].getvalue()), v[1]) if isinstance(v, tuple) else v)
                           for k, v in options["data"].items()}
    return client.open(url, method=method, headers={"X-CSRF-Token": token}, **options)


def test_every_owned_review_route_is_listed(app: Any, alices: Any) -> None:
    owned = {rule.endpoint for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith(AREAS) and OWNED_ARGS & set(rule.arguments)}
    assert owned == {endpoint for endpoint, *_ in requests_for(alices)}


def test_bob_gets_404_for_alices_ids_and_alice_succeeds(client: Any, users: Any, store: Any, alices: Any) -> None:
    login(client, users["bob"].email)
    token = csrf_token(client)
    for endpoint, method, url, options in requests_for(alices):
        response = _send(client, method, url, options, token)
        assert response.status_code == 404, (endpoint, response.status_code)
    # Nothing of alice's changed, and bob got nothing.
    card = store.cards.get(alices["card"].id)
    assert (card.front, card.deck_id, card.suspended, card.buried_until) == (
        "שאלה של אליס", alices["deck"].id, False, 0.0)
    assert store.decks.get(alices["deck"].id).name == "חפיסה"
    assert len(store.decks.list_for_owner(users["alice"].id)) == 2
    assert store.decks.list_for_owner(users["bob"].id) == []
    # Marks and undo for alice's card are refused too.
    answer = client.post("/review/marks", headers={"X-CSRF-Token": token}, json={"marks": [
        {"id": "bobs-mark-0001", "card_id": alices["card"].id, "grade": 3, "reviewed_at": 1_700_000_000}]})
    assert answer.get_json()["accepted"] == [] and store.cards.get(alices["card"].id).reps == 0
    client.post("/logout", data={"csrf_token": token})

    login(client, users["alice"].email)
    token = csrf_token(client)
    for endpoint, method, url, options in requests_for(alices):
        response = _send(client, method, url, options, token)
        assert response.status_code in (200, 302), (endpoint, response.status_code, response.get_data(as_text=True))
    assert store.decks.get(alices["deck"].id) is None  # the last request deleted it
