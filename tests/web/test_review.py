"""The review pages and the device's JSON: decks made from flashcards results (old marks
included), marks applied once in device-time order, undo, in-review edit, suspend and bury."""

from __future__ import annotations

import time
import uuid
from typing import Any

from studybuddy.courses import create_course
from studybuddy.store import new_id
from studybuddy.store.cards import Card, Deck
from studybuddy.store.models import Artifact, Document, Item
from studybuddy.study.decks import generated_card_id, sync_generated_decks
from studybuddy.study.scheduling import Settings
from tests.conftest import csrf_token

CARDS = [{"front": "מהי פוטוסינתזה?", "back": "הפיכת אור לאנרגיה כימית.", "source": 1},
         {"front": "Chlorophyll?", "back": "A green pigment.", "source": 2},
         {"front": "", "back": "no front: skipped", "source": 1}]


def flashcards(store: Any, owner_id: str, course_name: str = "ביולוגיה") -> Artifact:
    course = create_course(store, owner_id, course_name)
    return store.artifacts.add(Artifact(
        id=new_id(), owner_id=owner_id, course_id=course.id, kind="flashcards", title="כרטיסיות",
        content={"cards": CARDS, "sources": [{"number": 1, "document_name": "a.pdf", "page": 3},
                                             {"number": 2, "document_name": "b.pdf", "page": 7}]}))


def mark(card_id: str, grade: Any = "good", at: float | None = None, mark_id: str | None = None) -> dict[str, Any]:
    return {"id": mark_id or str(uuid.uuid4()), "card_id": card_id, "grade": grade,
            "reviewed_at": at if at is not None else time.time() - 60}


def post(client: Any, url: str, body: Any) -> Any:
    return client.post(url, json=body, headers={"X-CSRF-Token": csrf_token(client)})


def test_deck_has_the_students_cards_only_with_their_state(login_as: Any, users: Any, store: Any) -> None:
    mine = flashcards(store, users["alice"].id)
    flashcards(store, users["bob"].id, "של בוב")
    client = login_as("alice")
    deck = client.get("/review/deck.json").get_json()
    assert deck["user_id"] == users["alice"].id and deck["csrf_token"]
    assert [c["front"] for c in deck["cards"]] == ["מהי פוטוסינתזה?", "Chlorophyll?"]
    first = deck["cards"][0]
    assert first["id"] == generated_card_id(mine.id, 0)
    assert first["source"] == {"document": "a.pdf", "page": 3, "url": ""}
    assert first["course"] == "ביולוגיה" and first["deck"] == "כרטיסיות"
    assert first["state"] == 0 and first["reps"] == 0
    assert deck["scheduler"]["desired_retention"] == 0.9 and len(deck["scheduler"]["parameters"]) == 21
    assert deck["day_start"] < deck["generated_at"] < deck["day_end"]
    page = client.get("/review").get_data(as_text=True)
    assert "data-review" in page and f'data-user-id="{users["alice"].id}"' in page
    # Opening review again makes no second deck.
    client.get("/review/deck.json")
    assert len(store.decks.list_for_owner(users["alice"].id)) == 1


def test_marks_are_applied_once_and_answer_with_the_cards_state(login_as: Any, users: Any, store: Any) -> None:
    artifact = flashcards(store, users["alice"].id)
    client = login_as("alice")
    cards = client.get("/review/deck.json").get_json()["cards"]
    marks = [mark(cards[0]["id"], "good"), mark(cards[1]["id"], 1)]
    first = post(client, "/review/marks", {"marks": marks}).get_json()
    assert sorted(first["accepted"]) == sorted(m["id"] for m in marks) and not first["duplicate"]
    states = {c["id"]: c for c in first["cards"]}
    assert states[cards[0]["id"]]["reps"] == 1 and states[cards[0]["id"]]["state"] == 1
    second = post(client, "/review/marks", {"marks": marks + [marks[0]]}).get_json()
    assert second["accepted"] == []
    assert sorted(second["duplicate"]) == sorted([m["id"] for m in marks] + [marks[0]["id"]])
    assert store.reviews.count_for_owner(users["alice"].id) == 2
    # A device that still queues marks the old way (flashcards result and index) is understood.
    legacy = {"id": str(uuid.uuid4()), "artifact_id": artifact.id, "card_index": 1, "grade": "good",
              "reviewed_at": time.time() - 30}
    answer = post(client, "/review/marks", {"marks": [legacy]}).get_json()
    assert answer["accepted"] == [legacy["id"]]
    assert store.cards.get(generated_card_id(artifact.id, 1)).reps == 2


def test_bad_marks_are_refused_and_change_nothing(login_as: Any, users: Any, store: Any) -> None:
    flashcards(store, users["alice"].id)
    bobs = flashcards(store, users["bob"].id, "של בוב")
    sync_generated_decks(store, users["bob"].id, Settings())
    client = login_as("alice")
    card_id = client.get("/review/deck.json").get_json()["cards"][0]["id"]
    bad = [mark(generated_card_id(bobs.id, 0)), mark("nope-nope"), mark(card_id, grade="perfect"),
           mark(card_id, mark_id="../x"), {**mark(card_id), "reviewed_at": "yesterday"}, "not a mark",
           {**mark(card_id), "reviewed_at": float("nan")}]
    answer = post(client, "/review/marks", {"marks": bad}).get_json()
    assert answer["accepted"] == [] and len(answer["rejected"]) == len(bad)
    assert "הכרטיסייה הזו כבר לא קיימת." in [r["error"] for r in answer["rejected"]]
    assert store.reviews.count_for_owner(users["alice"].id) == 0
    assert store.cards.get(generated_card_id(bobs.id, 0)).reps == 0
    assert post(client, "/review/marks", {"not": "a list"}).status_code == 400
    assert client.post("/review/marks", json={"marks": []}).status_code == 400  # no CSRF token


def test_review_needs_an_account(client: Any) -> None:
    assert client.get("/review").status_code == 302
    response = client.get("/review/deck.json", headers={"Accept": "application/json"})
    assert response.status_code == 401


def test_old_flashcard_sets_and_marks_move_into_decks_and_the_log(login_as: Any, users: Any, store: Any) -> None:
    """Marks stored before decks existed become the cards' review history, once."""
    artifact = flashcards(store, users["alice"].id)
    alice = users["alice"].id
    old = [("m-0000001", 0, "good", 1_700_000_000.0), ("m-0000002", 0, "again", 1_700_100_000.0),
           ("m-0000003", 1, "good", 1_700_000_500.0)]
    for key, index, grade, at in old:
        store.items.add(Item(id=new_id(), kind="review_mark", owner_id=alice, course_id=artifact.course_id,
                             parent_id=artifact.id, key=key,
                             data={"card_index": index, "grade": grade, "reviewed_at": at, "received_at": at}))
    client = login_as("alice")
    cards = {c["id"]: c for c in client.get("/review/deck.json").get_json()["cards"]}
    first = store.cards.get(generated_card_id(artifact.id, 0))
    assert first.reps == 2 and first.last_review == 1_700_100_000.0
    assert [r.mark_id for r in store.reviews.for_card(first.id)] == ["m-0000001", "m-0000002"]
    assert first.id in cards  # due again: the last mark was "again" long ago
    # The device resends one of them: still once.
    answer = post(client, "/review/marks", {"marks": [
        {"id": "m-0000001", "artifact_id": artifact.id, "card_index": 0, "grade": "good",
         "reviewed_at": 1_700_000_000.0}]}).get_json()
    assert answer["duplicate"] == ["m-0000001"]
    assert store.reviews.count_for_owner(alice) == 3
    # A deleted deck made from a result is not made again.
    deck_id = first.deck_id
    client.post(f"/review/decks/{deck_id}/delete", data={"csrf_token": csrf_token(client)})
    client.get("/review")
    assert store.decks.get(deck_id) is None and store.decks.list_for_owner(alice) == []


def test_undo_puts_the_card_back_exactly(login_as: Any, users: Any, store: Any) -> None:
    flashcards(store, users["alice"].id)
    client = login_as("alice")
    card_id = client.get("/review/deck.json").get_json()["cards"][0]["id"]
    post(client, "/review/marks", {"marks": [mark(card_id, "good", time.time() - 3 * 86400)]})
    before = client.get("/review/deck.json").get_json()
    before_card = next(c for c in before["cards"] if c["id"] == card_id)
    last = mark(card_id, "again")
    post(client, "/review/marks", {"marks": [last]})
    answer = post(client, "/review/undo", {"mark_id": last["id"]}).get_json()
    keys = ("state", "step", "stability", "difficulty", "due", "last_review", "reps", "lapses")
    assert {k: answer["card"][k] for k in keys} == {k: before_card[k] for k in keys}
    assert post(client, "/review/undo", {"mark_id": "no-such-mark"}).status_code == 404
    assert post(client, "/review/undo", {"mark": 1}).status_code == 400


def test_edit_suspend_and_bury_during_review(login_as: Any, users: Any, store: Any) -> None:
    flashcards(store, users["alice"].id)
    client = login_as("alice")
    cards = client.get("/review/deck.json").get_json()["cards"]
    answer = post(client, f"/review/cards/{cards[0]['id']}/edit",
                  {"front": "מה עושה <b>כלורופיל</b>?\n<script>alert(1)</script>", "back": "סופג אור"}).get_json()
    assert answer["card"]["front"] == "מה עושה כלורופיל?"
    assert store.cards.get(cards[0]["id"]).back == "סופג אור"
    refused = post(client, f"/review/cards/{cards[0]['id']}/edit", {"front": " ", "back": "x"})
    assert refused.status_code == 400 and refused.get_json()["error"] == "צד השאלה של הכרטיסייה ריק."
    assert post(client, f"/review/cards/{cards[0]['id']}/bury", {}).get_json()["buried_until"] > time.time()
    assert post(client, f"/review/cards/{cards[1]['id']}/suspend", {}).get_json()["suspended"] is True
    assert client.get("/review/deck.json").get_json()["cards"] == []


def test_card_sources_link_to_the_students_own_documents_wherever_the_card_now_lives(
        login_as: Any, users: Any, store: Any) -> None:
    """The deck looks documents up per course; a card moved to another course, or naming a document
    that is not the student's, must still get the right link or none."""
    alice, bob = users["alice"].id, users["bob"].id
    one, two = create_course(store, alice, "א"), create_course(store, alice, "ב")
    theirs = create_course(store, bob, "של בוב")
    documents = {}
    for key, course, owner in [("here", one, alice), ("moved", one, alice), ("bobs", theirs, bob)]:
        documents[key] = store.documents.add(Document(id=new_id(), course_id=course.id, owner_id=owner,
                                                      display_name=f"{key}.txt", mime="text/plain"))
    deck = store.decks.add(Deck(id=new_id(), owner_id=alice, course_id=two.id, name="חפיסה"))
    for n, (key, course) in enumerate([("here", one), ("moved", two), ("bobs", two)]):
        store.cards.add(Card(id=new_id(), owner_id=alice, course_id=course.id, deck_id=deck.id, front=key,
                             back="ת", position=n, source={"document_id": documents[key].id,
                                                           "document_name": f"{key}.txt", "page": 2}))
    cards = {c["front"]: c for c in login_as("alice").get("/review/deck.json").get_json()["cards"]}
    assert cards["here"]["source"]["url"] == f"/documents/{documents['here'].id}/pages/2"
    assert cards["moved"]["source"]["url"] == f"/documents/{documents['moved'].id}/pages/2"
    assert cards["bobs"]["source"] == {"document": "bobs.txt", "page": 2, "url": ""}
