"""Review tests run on every store engine: a fresh store per test with alice, bob and a course each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from studybuddy.store.cards import Card, Deck
from studybuddy.store.models import Course, User, new_id
from tests.helpers.stores import BACKENDS, open_backend


@dataclass
class World:
    store: Any
    alice: User
    bob: User
    course: Course  # alice's
    bobs_course: Course
    deck: Deck  # alice's

    def cards(self, count: int, deck: Deck | None = None, start: float = 1_700_000_000.0) -> list[Card]:
        deck = deck or self.deck
        made = [Card(id=new_id(), owner_id=deck.owner_id, course_id=deck.course_id, deck_id=deck.id,
                     front=f"שאלה {i}", back=f"תשובה {i}", position=i, created_at=start + i)
                for i in range(count)]
        self.store.cards.add_many(made)
        return made


@pytest.fixture(params=BACKENDS)
def world(request: Any, tmp_path: Path) -> Iterator[World]:
    store = open_backend(request.param, tmp_path, request)
    alice = store.users.add(User(id=new_id(), email="alice@example.com", password_hash="x"))
    bob = store.users.add(User(id=new_id(), email="bob@example.com", password_hash="x"))
    course = store.courses.add(Course(id=new_id(), owner_id=alice.id, name="ביולוגיה"))
    bobs = store.courses.add(Course(id=new_id(), owner_id=bob.id, name="של בוב"))
    deck = store.decks.add(Deck(id=new_id(), owner_id=alice.id, course_id=course.id, name="פרק 1"))
    yield World(store, alice, bob, course, bobs, deck)
    store.close()
