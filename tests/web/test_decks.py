"""Decks the student owns through the pages: make, rename, add, edit, tag, move, suspend, delete;
export and import; progress charts; review settings and fitting the student's own parameters."""

from __future__ import annotations

import io
import random
import re
import time
import uuid
import zipfile
from typing import Any

from studybuddy.courses import create_course
from studybuddy.store.cards import Card, Deck
from studybuddy.store.models import new_id
from studybuddy.study.review import Mark, apply_mark, load_settings
from studybuddy.study.scheduling import DEFAULT_PARAMETERS, OPTIMISE_MIN_REVIEWS, Settings
from tests.conftest import csrf_token

DAY = 86400.0


def form(client: Any, url: str, **data: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf_token(client), **data})


def flashes(client: Any) -> str:
    return client.get("/review").get_data(as_text=True)


def test_a_deck_by_hand_its_cards_and_their_tags(login_as: Any, users: Any, store: Any) -> None:
    alice = users["alice"].id
    course = create_course(store, alice, "כימיה")
    client = login_as("alice")
    response = form(client, f"/review/courses/{course.id}/decks", name="  <b>יסודות</b>  ")
    deck = store.decks.list_for_owner(alice)[0]
    assert response.status_code == 302 and deck.name == "יסודות"
    form(client, f"/review/decks/{deck.id}/cards", front="מהו מימן?", back="היסוד הקל ביותר\nמספר אטומי 1",
         tags="יסודות  גזים, גזים")
    (card,) = store.cards.list_for_deck(deck.id)
    assert (card.front, card.back, card.tags) == ("מהו מימן?", "היסוד הקל ביותר\nמספר אטומי 1", ["יסודות", "גזים"])
    page = client.get(f"/review/decks/{deck.id}").get_data(as_text=True)
    assert "מהו מימן?" in page and "היסוד הקל ביותר" in page and "גזים" in page
    # Empty sides are refused with a message in Hebrew, and nothing is added.
    refused = form(client, f"/review/decks/{deck.id}/cards", front="", back="x")
    assert refused.status_code == 400 and "צד השאלה של הכרטיסייה ריק." in flashes(client)
    assert len(store.cards.list_for_deck(deck.id)) == 1
    form(client, f"/review/cards/{card.id}", front="מהו מימן (H)?", back="יסוד", tags="")
    assert (store.cards.get(card.id).front, store.cards.get(card.id).tags) == ("מהו מימן (H)?", [])
    form(client, f"/review/cards/{card.id}/suspension", suspended="1")
    assert store.cards.get(card.id).suspended
    form(client, f"/review/cards/{card.id}/suspension", suspended="0")
    assert not store.cards.get(card.id).suspended
    form(client, f"/review/decks/{deck.id}/rename", name="יסודות 2")
    assert store.decks.get(deck.id).name == "יסודות 2"
    assert form(client, f"/review/decks/{deck.id}/rename", name="   ").status_code == 400
    form(client, f"/review/cards/{card.id}/delete")
    assert store.cards.get(card.id) is None


def test_cards_move_between_decks_and_courses_keeping_their_history(login_as: Any, users: Any, store: Any) -> None:
    alice = users["alice"].id
    one, two = create_course(store, alice, "א"), create_course(store, alice, "ב")
    source = store.decks.add(Deck(id=new_id(), owner_id=alice, course_id=one.id, name="מקור"))
    target = store.decks.add(Deck(id=new_id(), owner_id=alice, course_id=two.id, name="יעד"))
    cards = [store.cards.add(Card(id=new_id(), owner_id=alice, course_id=one.id, deck_id=source.id,
                                  front=f"ש{i}", back=f"ת{i}")) for i in range(3)]
    apply_mark(store, alice, Mark(str(uuid.uuid4()), cards[0].id, 3, time.time() - 60), Settings())
    client = login_as("alice")
    client.post(f"/review/decks/{source.id}/move", data={"csrf_token": csrf_token(client), "target": target.id,
                                                         "card": [cards[0].id, cards[2].id]})
    moved = store.cards.list_for_deck(target.id)
    assert [c.front for c in moved] == ["ש0", "ש2"] and all(c.course_id == two.id for c in moved)
    assert moved[0].reps == 1 and len(store.reviews.for_card(cards[0].id)) == 1
    assert [c.front for c in store.cards.list_for_deck(source.id)] == ["ש1"]
    assert form(client, f"/review/decks/{source.id}/move", target=target.id).status_code == 400


def test_export_and_import_through_the_pages(login_as: Any, users: Any, store: Any) -> None:
    alice = users["alice"].id
    course = create_course(store, alice, "ביולוגיה")
    deck = store.decks.add(Deck(id=new_id(), owner_id=alice, course_id=course.id, name="תאים"))
    store.cards.add(Card(id=new_id(), owner_id=alice, course_id=course.id, deck_id=deck.id,
                         front="מהו \"תא\"?", back="יחידת החיים,\tהבסיסית"))
    client = login_as("alice")
    csv = client.get(f"/review/decks/{deck.id}/export.csv")
    assert csv.status_code == 200 and csv.data.startswith(b"\xef\xbb\xbf")
    assert "attachment" in csv.headers["Content-Disposition"]
    tsv = client.get(f"/review/decks/{deck.id}/export.tsv").get_data(as_text=True)
    assert tsv == '"מהו ""תא""?"\t"יחידת החיים,\tהבסיסית"\n'
    apkg = client.get(f"/review/courses/{course.id}/export.apkg")
    assert zipfile.is_zipfile(io.BytesIO(apkg.data))
    assert client.get(f"/review/decks/{deck.id}/export.pdf").status_code == 404
    imported = client.post(f"/review/courses/{course.id}/import", data={
        "csrf_token": csrf_token(client), "file": (io.BytesIO(apkg.data), "ביולוגיה.apkg")})
    assert imported.status_code == 302
    assert "כרטיסייה אחת יובאה." in client.get(imported.headers["Location"]).get_data(as_text=True)
    names = sorted(d.name for d in store.decks.list_for_owner(alice))
    assert names == ["ביולוגיה › תאים", "תאים"]
    # A bad file: a clear message in Hebrew, nothing new.
    bad = client.post(f"/review/courses/{course.id}/import", data={
        "csrf_token": csrf_token(client), "file": (io.BytesIO(b"PK\x03\x04 not really"), "x.apkg")})
    assert bad.status_code == 400
    assert "הקובץ הזה אינו חבילת Anki" in client.get("/review").get_data(as_text=True)
    assert len(store.decks.list_for_owner(alice)) == 2
    no_file = client.post(f"/review/courses/{course.id}/import", data={"csrf_token": csrf_token(client)})
    assert no_file.status_code == 400


def _studied(store: Any, owner: str, course_id: str, cards: int, marks: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    deck = store.decks.add(Deck(id=new_id(), owner_id=owner, course_id=course_id, name="היסטוריה"))
    made = [store.cards.add(Card(id=new_id(), owner_id=owner, course_id=course_id, deck_id=deck.id,
                                 front=f"ש{i}", back=f"ת{i}")) for i in range(cards)]
    now = time.time()
    per_card = marks // cards
    for i, card in enumerate(made):
        at = now - 80 * DAY + i * 30
        for _ in range(per_card):
            apply_mark(store, owner, Mark(str(uuid.uuid4()), card.id, rng.choices([1, 2, 3, 4], [15, 10, 65, 10])[0],
                                          at), Settings(), now=now)
            at += rng.uniform(0.5, 12) * DAY
            if at > now - 60:
                break


def test_progress_pages_draw_charts_in_both_directions(login_as: Any, users: Any, store: Any) -> None:
    alice = users["alice"].id
    course = create_course(store, alice, "היסטוריה")
    _studied(store, alice, course.id, cards=12, marks=60)
    client = login_as("alice")
    page = client.get(f"/review/courses/{course.id}/progress").get_data(as_text=True)
    assert page.count("<svg class=\"chart") == 4 and "<script" not in page.split("<main", 1)[1].split("</main>")[0]
    assert "שימור בפועל" in page and "chart-target" in page and 'data-state="review"' in page
    assert client.get("/review/progress").status_code == 200
    # RTL: the newest day is drawn on the left in Hebrew and on the right in English.
    def newest_bar_x(html: str) -> float:
        chart = html.split('chart-reviews', 1)[1].split("</svg>", 1)[0]
        labels = re.findall(r'<text class="chart-label" x="([\d.]+)"', chart)
        return float(labels[-1])
    hebrew = newest_bar_x(page)
    client.post("/language/en", data={"csrf_token": csrf_token(client), "next": "/library"})
    store.users.update(alice, language="en")
    english = newest_bar_x(client.get(f"/review/courses/{course.id}/progress").get_data(as_text=True))
    assert hebrew < 320 < english


def test_review_settings_and_rescheduling(login_as: Any, users: Any, store: Any) -> None:
    alice = users["alice"].id
    course = create_course(store, alice, "היסטוריה")
    _studied(store, alice, course.id, cards=5, marks=20)
    client = login_as("alice")
    assert "90" in client.get("/review/settings").get_data(as_text=True)
    before = {c.id: c.due for c in store.cards.list_for_owner(alice)}
    assert form(client, "/review/settings", desired_retention="95", new_per_day="7").status_code == 302
    chosen = load_settings(store, alice)
    assert (chosen.desired_retention, chosen.new_per_day) == (0.95, 7)
    after = {c.id: c.due for c in store.cards.list_for_owner(alice)}
    assert all(after[i] <= before[i] for i in before) and after != before  # higher retention, sooner reviews
    for bad in ({"desired_retention": "99", "new_per_day": "7"}, {"desired_retention": "abc", "new_per_day": "7"},
                {"desired_retention": "90", "new_per_day": "-1"}):
        response = form(client, "/review/settings", **bad)
        assert response.status_code == 400
    assert load_settings(store, alice).desired_retention == 0.95


def test_optimise_needs_enough_reviews_then_fits_and_reschedules(login_as: Any, users: Any, store: Any) -> None:
    alice = users["alice"].id
    course = create_course(store, alice, "היסטוריה")
    client = login_as("alice")
    form(client, "/review/settings/optimise")
    assert "צריך לפחות" in client.get("/review/settings").get_data(as_text=True)
    assert load_settings(store, alice).parameters == DEFAULT_PARAMETERS
    _studied(store, alice, course.id, cards=60, marks=OPTIMISE_MIN_REVIEWS + 200)
    assert store.reviews.count_for_owner(alice) >= OPTIMISE_MIN_REVIEWS
    form(client, "/review/settings/optimise")
    fitted = load_settings(store, alice)
    assert fitted.parameters != DEFAULT_PARAMETERS and len(fitted.parameters) == 21
    assert fitted.optimised_reviews == store.reviews.count_for_owner(alice)
    from studybuddy.study.scheduling import memory_of, replay

    for card in store.cards.list_for_owner(alice)[:10]:
        assert memory_of(card) == replay(store.reviews.for_card(card.id), fitted.scheduler())
    form(client, "/review/settings/reset")
    assert load_settings(store, alice).parameters == DEFAULT_PARAMETERS
