"""The card repository's queries that gather across decks, on every store: each must give what
its plain per-deck form gives."""

from __future__ import annotations

import random
from typing import Any

from studybuddy.store.cards import Card, Deck
from studybuddy.store.models import Course, User, new_id

from . import test_contract

store = test_contract.store  # the same parametrised fixture: every engine

NOW = 1_800_000_000.0


def _by_deck(store: Any, owner_id: str, now: float, per_deck: int, limit: int) -> list[Card]:
    """The reference: list_new deck by deck, as the review deck was first built."""
    cards: list[Card] = []
    for deck in store.decks.list_for_owner(owner_id):
        room = limit - len(cards)
        if room <= 0 or per_deck <= 0:
            break
        cards += store.cards.list_new(owner_id, now, deck_id=deck.id, limit=min(room, per_deck))
    return cards


def test_new_cards_per_deck_match_list_new_deck_by_deck(store: Any) -> None:
    rng = random.Random(7)
    owners = [store.users.add(User(id=new_id(), email=f"{n}@example.com", password_hash="x")) for n in "ab"]
    for owner in owners:
        courses = [store.courses.add(Course(id=new_id(), owner_id=owner.id, name=f"c{i}")) for i in range(2)]
        for d in range(5):
            course = rng.choice(courses)
            # Decks made in the same second: their ids break the tie.
            made_at = NOW + rng.choice([0, 1])
            deck = store.decks.add(Deck(new_id(), owner.id, course.id, f"deck {d}", created_at=made_at))
            cards = []
            for i in range(rng.randrange(0, 9)):
                state = rng.random()
                cards.append(Card(new_id(), owner.id, course.id, deck.id, f"front {d}.{i}", "back",
                                  position=rng.randrange(3), created_at=NOW + rng.choice([0, 0, 5]),
                                  reps=1 if state < 0.2 else 0, suspended=0.2 <= state < 0.3,
                                  buried_until=NOW + 50 if 0.3 <= state < 0.4 else 0.0))
            store.cards.add_many(cards)
    # A card filed in another student's deck is listed for neither.
    other_deck = store.decks.list_for_owner(owners[1].id)[0]
    store.cards.add_many([Card(new_id(), owners[0].id, other_deck.course_id, other_deck.id, "stray", "back",
                               created_at=NOW - 10)])
    for owner in owners:
        for per_deck, limit, now in [(3, 100, NOW), (1, 100, NOW), (20, 100, NOW + 100), (3, 7, NOW),
                                     (2, 1, NOW), (0, 10, NOW), (5, 0, NOW)]:
            got = store.cards.list_new_per_deck(owner.id, now, per_deck, limit)
            assert [c.id for c in got] == [c.id for c in _by_deck(store, owner.id, now, per_deck, limit)]
            assert all(c.owner_id == owner.id and c.front != "stray" for c in got)
    assert store.cards.list_new_per_deck(owners[0].id, NOW, 3, 100)  # the data gave something to compare
