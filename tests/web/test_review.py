"""The offline review deck and its marks: owner-scoped, validated, applied exactly once."""

from __future__ import annotations

import uuid
from typing import Any

from studybuddy.courses import create_course
from studybuddy.store import new_id
from studybuddy.store.models import Artifact
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


def mark(artifact: Artifact, index: int = 0, grade: str = "good", mark_id: str | None = None) -> dict[str, Any]:
    return {"id": mark_id or str(uuid.uuid4()), "artifact_id": artifact.id, "card_index": index,
            "grade": grade, "reviewed_at": 1_700_000_000.0}


def post_marks(client: Any, marks: Any) -> Any:
    return client.post("/review/marks", json={"marks": marks}, headers={"X-CSRF-Token": csrf_token(client)})


def test_deck_has_the_students_cards_only(login_as: Any, users: Any, store: Any) -> None:
    mine = flashcards(store, users["alice"].id)
    flashcards(store, users["bob"].id, "של בוב")
    client = login_as("alice")
    deck = client.get("/review/deck.json").get_json()
    assert deck["user_id"] == users["alice"].id and deck["csrf_token"]
    assert [c["front"] for c in deck["cards"]] == ["מהי פוטוסינתזה?", "Chlorophyll?"]
    assert deck["cards"][0]["id"] == f"{mine.id}:0" and deck["cards"][0]["source"] == {"document": "a.pdf", "page": 3}
    assert deck["cards"][1]["course"] == "ביולוגיה"
    page = client.get("/review").get_data(as_text=True)
    assert "data-review" in page and f'data-user-id="{users["alice"].id}"' in page


def test_marks_are_applied_once_even_when_sent_twice(login_as: Any, users: Any, store: Any) -> None:
    artifact = flashcards(store, users["alice"].id)
    client = login_as("alice")
    marks = [mark(artifact, 0, "good"), mark(artifact, 1, "again")]
    first = post_marks(client, marks).get_json()
    assert sorted(first["accepted"]) == sorted(m["id"] for m in marks) and not first["duplicate"]
    second = post_marks(client, marks + [marks[0]]).get_json()
    assert second["accepted"] == []
    assert sorted(second["duplicate"]) == sorted([m["id"] for m in marks] + [marks[0]["id"]])
    stored = store.items.find("review_mark", owner_id=users["alice"].id)
    assert len(stored) == 2
    assert {(i.parent_id, i.data["card_index"], i.data["grade"]) for i in stored} == {
        (artifact.id, 0, "good"), (artifact.id, 1, "again")}


def test_bad_marks_are_refused_and_change_nothing(login_as: Any, users: Any, store: Any) -> None:
    artifact = flashcards(store, users["alice"].id)
    bobs = flashcards(store, users["bob"].id, "של בוב")
    client = login_as("alice")
    bad = [mark(bobs), mark(artifact, 99), mark(artifact, grade="perfect"), mark(artifact, mark_id="../x"),
           {**mark(artifact), "card_index": "0"}, "not a mark"]
    answer = post_marks(client, bad).get_json()
    assert answer["accepted"] == [] and len(answer["rejected"]) == len(bad)
    assert answer["rejected"][0]["error"] == "הכרטיסייה הזו כבר לא קיימת."
    assert store.items.find("review_mark", owner_id=users["alice"].id) == []
    assert post_marks(client, {"not": "a list"}).status_code == 400
    assert client.post("/review/marks", json={"marks": []}).status_code == 400  # no CSRF token


def test_review_needs_an_account(client: Any) -> None:
    assert client.get("/review").status_code == 302
    response = client.get("/review/deck.json", headers={"Accept": "application/json"})
    assert response.status_code == 401


def test_deck_puts_new_cards_first_then_the_ones_not_known(login_as: Any, users: Any, store: Any) -> None:
    artifact = store.artifacts.add(Artifact(
        id=new_id(), owner_id=users["alice"].id, course_id=create_course(store, users["alice"].id, "c").id,
        kind="flashcards", title="t",
        content={"cards": [{"front": f"q{i}", "back": f"a{i}", "source": 1} for i in range(4)], "sources": []}))
    client = login_as("alice")
    marks = [{**mark(artifact, 0, "good"), "reviewed_at": 100.0}, {**mark(artifact, 1, "again"), "reviewed_at": 200.0},
             {**mark(artifact, 3, "again"), "reviewed_at": 50.0}, {**mark(artifact, 3, "good"), "reviewed_at": 300.0}]
    assert len(post_marks(client, marks).get_json()["accepted"]) == 4
    fronts = [c["front"] for c in client.get("/review/deck.json").get_json()["cards"]]
    assert fronts == ["q2", "q1", "q0", "q3"]
