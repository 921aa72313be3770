"""Decks the student owns: made from a flashcards tool result, by hand or by an import; cards
edited, added, deleted, tagged, moved, suspended and buried."""

from __future__ import annotations

import hashlib
import html
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import nh3

from ..store.base import DuplicateError, Store
from ..store.cards import Card, Deck, Review
from ..store.models import Artifact, Item, new_id
from .review import N_, ReviewError, Settings, settle
from .scheduling import GRADES, local_day_start

log = logging.getLogger(__name__)

MAX_FIELD_CHARS = 20_000
MAX_DECK_NAME = 120
MAX_TAGS = 20
MAX_TAG_CHARS = 40
MAX_CARDS_PER_DECK = 20_000
SYNCED_KIND = "deck_made_from"  # marks a flashcards artifact whose deck was made (and maybe deleted since)
LEGACY_MARK_KIND = "review_mark"  # marks stored before decks existed


def generated_card_id(artifact_id: str, index: int) -> str:
    """The same id every time, so making a deck twice (two requests at once) makes it once."""
    return hashlib.sha256(f"card:{artifact_id}:{index}".encode()).hexdigest()[:24]


def generated_deck_id(owner_id: str, artifact_id: str) -> str:
    return hashlib.sha256(f"deck:{owner_id}:{artifact_id}".encode()).hexdigest()[:24]


# Text ----------------------------------------------------------------------------------------
_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/tr)\s*/?\s*>", re.IGNORECASE)
# A "<" that does not open a whole tag or comment is text ("x<y"), not the start of markup.
_LONE_LT = re.compile(r"<(?!/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|!--)")


def plain_text(value: str) -> str:
    """Card text from anything (HTML from Anki included): tags and scripts removed by the same
    sanitiser as everywhere else, entities decoded, line breaks kept."""
    text = _LONE_LT.sub("&lt;", _BREAKS.sub("\n", value))
    text = html.unescape(nh3.clean(text, tags=set(), attributes={}))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = "".join(ch for ch in text if ch in "\n\t" or ord(ch) >= 32)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def clean_field(value: Any, empty_message: str) -> str:
    text = plain_text(str(value or ""))
    if not text:
        raise ReviewError(empty_message)
    if len(text) > MAX_FIELD_CHARS:
        raise ReviewError(N_("A card side is too long (20,000 characters at most)."))
    return text


def clean_tags(value: Any) -> list[str]:
    """Tags as Anki has them: words without spaces."""
    raw = value if isinstance(value, list) else re.split(r"[\s,]+", str(value or ""))
    tags: list[str] = []
    for tag in raw:
        tag = plain_text(str(tag)).strip().replace(" ", "_")[:MAX_TAG_CHARS]
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ReviewError(N_("A card can have 20 tags at most."))
    return tags


def clean_deck_name(value: Any) -> str:
    name = plain_text(str(value or "")).replace("\n", " ").strip()
    if not name:
        raise ReviewError(N_("Please give the deck a name."))
    return name[:MAX_DECK_NAME]


# Decks made from the flashcards tool ---------------------------------------------------------
def _artifact_cards(artifact: Artifact) -> list[dict[str, Any]]:
    cards = artifact.content.get("cards")
    return [c for c in cards if isinstance(c, dict)] if isinstance(cards, list) else []


def _artifact_source(artifact: Artifact, number: Any) -> dict[str, Any]:
    sources = artifact.content.get("sources")
    if not isinstance(sources, list) or not isinstance(number, int):
        return {}
    for source in sources:
        if isinstance(source, dict) and source.get("number") == number:
            return {"document_id": str(source.get("document_id") or ""),
                    "document_name": str(source.get("document_name") or ""), "page": int(source.get("page") or 0)}
    return {}


def sync_generated_decks(store: Store, owner_id: str, settings: Settings) -> int:
    """Make a deck of every flashcards result of the student that has none yet (this also moves
    flashcard sets and marks from before decks existed into decks and the review log). Returns
    how many decks were made. A deck the student deleted is not made again."""
    made = {item.key for item in store.items.find(SYNCED_KIND, owner_id=owner_id, limit=100_000)}
    count = 0
    # Only the ids first: the review deck asks on every load, and results are read only when new.
    for artifact_id in store.artifacts.ids_for_owner(owner_id, "flashcards"):
        if artifact_id in made:
            continue
        artifact = store.artifacts.get(artifact_id)
        if artifact is None or artifact.owner_id != owner_id:
            continue
        _make_deck(store, artifact, settings)
        try:
            store.items.add(Item(id=new_id(), kind=SYNCED_KIND, owner_id=owner_id, course_id=artifact.course_id,
                                 parent_id=artifact.id, key=artifact.id, data={}))
        except DuplicateError:
            continue
        count += 1
    return count


def _make_deck(store: Store, artifact: Artifact, settings: Settings) -> None:
    deck_id = generated_deck_id(artifact.owner_id, artifact.id)
    if store.decks.get(deck_id) is None:
        try:
            store.decks.add(Deck(id=deck_id, owner_id=artifact.owner_id, course_id=artifact.course_id,
                                 name=(artifact.title or "Flashcards")[:MAX_DECK_NAME],
                                 source_artifact_id=artifact.id, created_at=artifact.created_at))
        except DuplicateError:
            pass
    cards = []
    for index, raw in enumerate(_artifact_cards(artifact)):
        front, back = plain_text(str(raw.get("front", ""))), plain_text(str(raw.get("back", "")))
        if front and back:
            cards.append(Card(id=generated_card_id(artifact.id, index), owner_id=artifact.owner_id,
                              course_id=artifact.course_id, deck_id=deck_id, front=front[:MAX_FIELD_CHARS],
                              back=back[:MAX_FIELD_CHARS], source=_artifact_source(artifact, raw.get("source")),
                              position=index, created_at=artifact.created_at + index / 1000))
    store.cards.add_many(cards)
    _import_legacy_marks(store, artifact, {c.id for c in cards}, settings)


def _import_legacy_marks(store: Store, artifact: Artifact, card_ids: set[str], settings: Settings) -> None:
    touched: set[str] = set()
    for item in store.items.find(LEGACY_MARK_KIND, owner_id=artifact.owner_id, parent_id=artifact.id,
                                 limit=100_000):
        grade = GRADES.get(str(item.data.get("grade")))
        card_id = generated_card_id(artifact.id, int(item.data.get("card_index", -1)))
        if grade is None or card_id not in card_ids or not item.key:
            continue
        try:
            store.reviews.add(Review(id=new_id(), owner_id=artifact.owner_id, card_id=card_id, mark_id=item.key,
                                     grade=grade, reviewed_at=round(float(item.data.get("reviewed_at", 0)), 3),
                                     received_at=float(item.data.get("received_at", item.created_at))))
        except DuplicateError:
            continue
        touched.add(card_id)
    for card_id in touched:
        settle(store, card_id, settings)


# Decks and cards by hand ---------------------------------------------------------------------
def create_deck(store: Store, owner_id: str, course_id: str, name: Any) -> Deck:
    return store.decks.add(Deck(id=new_id(), owner_id=owner_id, course_id=course_id, name=clean_deck_name(name)))


def rename_deck(store: Store, deck: Deck, name: Any) -> Deck:
    return store.decks.update(deck.id, name=clean_deck_name(name), updated_at=time.time()) or deck


@dataclass(frozen=True)
class CardText:
    front: str
    back: str
    tags: list[str]


def card_text(form: Mapping[str, Any]) -> CardText:
    return CardText(front=clean_field(form.get("front"), N_("The front of the card is empty.")),
                    back=clean_field(form.get("back"), N_("The back of the card is empty.")),
                    tags=clean_tags(form.get("tags", "")))


def add_card(store: Store, deck: Deck, text: CardText, source: dict[str, Any] | None = None) -> Card:
    if store.cards.count_for_deck(deck.id) >= MAX_CARDS_PER_DECK:
        raise ReviewError(N_("This deck is full (20,000 cards)."))
    position = store.cards.count_for_deck(deck.id)
    return store.cards.add(Card(id=new_id(), owner_id=deck.owner_id, course_id=deck.course_id, deck_id=deck.id,
                                front=text.front, back=text.back, tags=text.tags, source=source or {},
                                position=position))


def edit_card(store: Store, card: Card, text: CardText) -> Card:
    return store.cards.update(card.id, front=text.front, back=text.back, tags=text.tags,
                              updated_at=time.time()) or card


def move_cards(store: Store, cards: Iterable[Card], target: Deck) -> int:
    moved = 0
    position = store.cards.count_for_deck(target.id)
    for card in cards:
        if card.deck_id == target.id:
            continue
        store.cards.update(card.id, deck_id=target.id, course_id=target.course_id, position=position + moved,
                           updated_at=time.time())
        moved += 1
    return moved


def set_suspended(store: Store, card: Card, suspended: bool) -> Card:
    return store.cards.update(card.id, suspended=suspended, updated_at=time.time()) or card


def bury_until_tomorrow(store: Store, card: Card, timezone: str, now: float | None = None) -> Card:
    until = local_day_start(time.time() if now is None else now, timezone, days=1)
    return store.cards.update(card.id, buried_until=until, updated_at=time.time()) or card
