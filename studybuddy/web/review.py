"""Review: the study pages, the deck the device keeps (due times and FSRS state included, so it can
schedule offline), marks applied exactly once, undo, and in-review edit, suspend and bury."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from ..store.cards import Card, Deck
from ..study.citations import source_url
from ..study.decks import bury_until_tomorrow, card_text, edit_card, set_suspended, sync_generated_decks
from ..study.review import (
    ReviewError,
    apply_mark,
    counts,
    load_settings,
    parse_mark,
    undo_mark,
)
from ..study.scheduling import Settings, local_day_start
from . import get_services
from .access import owned_card, owned_course, owned_deck
from .errors import json_error

log = logging.getLogger(__name__)
bp = Blueprint("review", __name__)

MAX_DEVICE_CARDS = 2000
MAX_MARKS_PER_REQUEST = 500


def settings() -> Settings:
    return load_settings(get_services().store, current_user.id)


def timezone() -> str:
    return get_services().config.app.timezone


def prepare() -> Settings:
    """The student's settings, after making decks of any new flashcards results."""
    chosen = settings()
    sync_generated_decks(get_services().store, current_user.id, chosen)
    return chosen


class Names:
    """Course and deck names, document links: looked up once per request."""

    def __init__(self, owner_id: str):
        store = get_services().store
        self.courses = {c.id: c.name for c in store.courses.list_for_owner(owner_id)}
        self.decks = {d.id: d for d in store.decks.list_for_owner(owner_id)}
        self._documents: dict[str, dict[str, Any]] = {}  # per course: its documents by id
        self.owner_id = owner_id

    def source(self, card: Card) -> dict[str, Any]:
        source = card.source or {}
        name, page = str(source.get("document_name") or ""), int(source.get("page") or 0)
        if not name:
            return {}
        document = self._document(card.course_id, str(source.get("document_id") or ""))
        return {"document": name, "page": page, "url": source_url(document, page) if document else ""}

    def _document(self, course_id: str, document_id: str) -> Any:
        """The student's document: one query per course for all its documents, and one more for a
        document kept in another course (a deck moved since)."""
        if not document_id:
            return None
        store = get_services().store
        if course_id not in self._documents:
            self._documents[course_id] = {d.id: d for d in store.documents.list_for_course(course_id)}
        known = self._documents[course_id]
        if document_id not in known:
            known[document_id] = store.documents.get(document_id)
        found = known[document_id]
        return found if found is not None and found.owner_id == self.owner_id else None


def card_payload(card: Card, names: Names) -> dict[str, Any]:
    deck = names.decks.get(card.deck_id)
    return {
        "id": card.id, "deck_id": card.deck_id, "deck": deck.name if deck else "", "course_id": card.course_id,
        "course": names.courses.get(card.course_id, ""), "front": card.front, "back": card.back,
        "tags": card.tags, "source": names.source(card), "state": card.state, "step": card.step,
        "stability": card.stability, "difficulty": card.difficulty, "due": card.due,
        "last_review": card.last_review, "reps": card.reps, "lapses": card.lapses, "version": card.version,
    }


def device_cards(owner_id: str, chosen: Settings, now: float) -> tuple[list[Card], int]:
    """What the device keeps: cards due before the end of tomorrow (an offline session may run past
    midnight) and up to a day's new cards of every deck. Returns (cards, new cards met today)."""
    store = get_services().store
    until = local_day_start(now, timezone(), days=2)
    cards = store.cards.list_due(owner_id, until, now, limit=MAX_DEVICE_CARDS)
    introduced = store.cards.count_introduced(owner_id, local_day_start(now, timezone()))
    cards += store.cards.list_new_per_deck(owner_id, now, chosen.new_per_day, MAX_DEVICE_CARDS - len(cards))
    return cards, introduced


def _scope_counts(chosen: Settings, course_id: str | None = None, deck_id: str | None = None) -> tuple[int, int]:
    return counts(get_services().store, current_user.id, chosen, timezone(), course_id=course_id, deck_id=deck_id)


def _study_page(title: str, chosen: Settings, scope: dict[str, str], back_url: str = "") -> Any:
    due, new = _scope_counts(chosen, **scope)
    return render_template("review/study.html", title=title, scope=scope, due=due, new=new, back_url=back_url)


@bp.route("/review")
@login_required
def index() -> Any:
    chosen = prepare()
    store = get_services().store
    names = Names(current_user.id)
    rows = []
    for course_id, course_name in names.courses.items():
        decks = [d for d in names.decks.values() if d.course_id == course_id]
        deck_rows = [(deck, *_scope_counts(chosen, deck_id=deck.id), store.cards.count_for_deck(deck.id))
                     for deck in decks]
        rows.append({"id": course_id, "name": course_name, "decks": deck_rows,
                     "counts": _scope_counts(chosen, course_id=course_id) if decks else (0, 0)})
    due, new = _scope_counts(chosen)
    return render_template("review/index.html", rows=rows, due=due, new=new,
                           reviewed=store.reviews.count_for_owner(current_user.id))


@bp.route("/review/courses/<course_id>/study")
@login_required
def study_course(course_id: str) -> Any:
    course = owned_course(course_id)
    chosen = prepare()
    return _study_page(course.name, chosen, {"course_id": course.id})


@bp.route("/review/decks/<deck_id>/study")
@login_required
def study_deck(deck_id: str) -> Any:
    deck: Deck = owned_deck(deck_id)
    chosen = prepare()
    return _study_page(deck.name, chosen, {"deck_id": deck.id})


@bp.route("/review/deck.json")
@login_required
def deck() -> Any:
    """The cards to keep on the device with their FSRS state, what the page needs to schedule them
    itself while offline, and a fresh CSRF token for sending marks later."""
    chosen = prepare()
    now = time.time()
    cards, introduced = device_cards(current_user.id, chosen, now)
    names = Names(current_user.id)
    return jsonify({
        "user_id": current_user.id,
        "generated_at": now,
        "csrf_token": generate_csrf(),
        "scheduler": chosen.for_device(),
        "day_start": local_day_start(now, timezone()),
        "day_end": local_day_start(now, timezone(), days=1),
        "new_per_day": chosen.new_per_day,
        "new_today": introduced,
        "cards": [card_payload(c, names) for c in cards],
    })


@bp.route("/review/marks", methods=["POST"])
@login_required
def marks() -> Any:
    """Apply marks made on the device, oldest first. Each mark id is applied once; a resend is
    reported as a duplicate. The answer carries the server's state of every card it touched."""
    body = request.get_json(silent=True)
    raw_marks = body.get("marks") if isinstance(body, dict) else None
    if not isinstance(raw_marks, list):
        return json_error(400, "The request was not understood.")
    if len(raw_marks) > MAX_MARKS_PER_REQUEST:
        return json_error(400, "Too many review marks at once. Please try again.")
    store = get_services().store
    chosen = settings()
    accepted: list[str] = []
    duplicate: list[str] = []
    rejected: list[dict[str, str]] = []
    parsed = []
    for raw in raw_marks:
        try:
            parsed.append(parse_mark(raw))
        except ReviewError as exc:
            rejected.append({"id": str(raw.get("id", "")) if isinstance(raw, dict) else "", "error": gettext(str(exc))})
    if any(isinstance(r, dict) and "artifact_id" in r for r in raw_marks):
        sync_generated_decks(store, current_user.id, chosen)  # marks queued before decks existed
    touched: dict[str, Card] = {}
    for mark in sorted(parsed, key=lambda m: (m.reviewed_at, m.mark_id)):
        try:
            applied, card = apply_mark(store, current_user.id, mark, chosen)
        except ReviewError as exc:
            rejected.append({"id": mark.mark_id, "error": gettext(str(exc))})
            continue
        (accepted if applied else duplicate).append(mark.mark_id)
        touched[card.id] = card
    if accepted or rejected:
        log.info("review marks from %s: %d applied, %d duplicate, %d refused",
                 current_user.id, len(accepted), len(duplicate), len(rejected))
    names = Names(current_user.id)
    return jsonify({"accepted": accepted, "duplicate": duplicate, "rejected": rejected,
                    "cards": [card_payload(store.cards.get(c.id) or c, names) for c in touched.values()]})


@bp.route("/review/undo", methods=["POST"])
@login_required
def undo() -> Any:
    body = request.get_json(silent=True)
    mark_id = body.get("mark_id") if isinstance(body, dict) else None
    if not isinstance(mark_id, str):
        return json_error(400, "The request was not understood.")
    try:
        card = undo_mark(get_services().store, current_user.id, mark_id, settings())
    except ReviewError as exc:
        return json_error(404, str(exc))
    return jsonify({"card": card_payload(card, Names(current_user.id))})


@bp.route("/review/cards/<card_id>/edit", methods=["POST"])
@login_required
def edit_json(card_id: str) -> Any:
    """Edit a card during review (JSON in, the card out)."""
    card = owned_card(card_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return json_error(400, "The request was not understood.")
    try:
        text = card_text({"front": body.get("front"), "back": body.get("back"),
                          "tags": body.get("tags", card.tags)})
    except ReviewError as exc:
        return json_error(400, str(exc))
    updated = edit_card(get_services().store, card, text)
    return jsonify({"card": card_payload(updated, Names(current_user.id))})


@bp.route("/review/cards/<card_id>/suspend", methods=["POST"])
@login_required
def suspend_json(card_id: str) -> Any:
    card = owned_card(card_id)
    updated = set_suspended(get_services().store, card, True)
    return jsonify({"card": card_payload(updated, Names(current_user.id)), "suspended": True})


@bp.route("/review/cards/<card_id>/bury", methods=["POST"])
@login_required
def bury_json(card_id: str) -> Any:
    card = owned_card(card_id)
    updated = bury_until_tomorrow(get_services().store, card, timezone())
    return jsonify({"card": card_payload(updated, Names(current_user.id)), "buried_until": updated.buried_until})
