"""Offline review: the student's flashcards as a deck for the device, and marks applied exactly once."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from ..store import DuplicateError, new_id
from ..store.models import Artifact, Item
from . import get_services
from .errors import json_error

log = logging.getLogger(__name__)
bp = Blueprint("review", __name__)

MARK_KIND = "review_mark"
GRADES = ("again", "hard", "good", "easy")
MAX_CARDS = 2000
MAX_MARKS_PER_REQUEST = 500
# Mark ids are made on the device (a UUID); they are the key that makes a resend harmless.
MARK_ID_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")
# Why a mark is refused (English; shown through gettext).
USER_MESSAGES = {
    "malformed": "A review mark is not in the expected form.",
    "gone": "This card no longer exists.",
}


def _flashcard_decks(owner_id: str) -> list[tuple[str, Artifact]]:
    """(course name, flashcards artifact) for every course of the student, newest deck first."""
    store = get_services().store
    decks: list[tuple[str, Artifact]] = []
    for course in store.courses.list_for_owner(owner_id):
        for artifact in store.artifacts.list_for_course(course.id, kind="flashcards"):
            if artifact.owner_id == owner_id:
                decks.append((course.name, artifact))
    decks.sort(key=lambda pair: pair[1].created_at, reverse=True)
    return decks


def _cards(artifact: Artifact) -> list[dict[str, Any]]:
    cards = artifact.content.get("cards")
    return [c for c in cards if isinstance(c, dict)] if isinstance(cards, list) else []


def _source_label(artifact: Artifact, number: Any) -> dict[str, Any]:
    sources = artifact.content.get("sources")
    if not isinstance(sources, list) or not isinstance(number, int):
        return {}
    for source in sources:
        if isinstance(source, dict) and source.get("number") == number:
            return {"document": str(source.get("document_name", "")), "page": int(source.get("page") or 0)}
    return {}


def _last_marks(owner_id: str) -> dict[tuple[str, int], dict[str, Any]]:
    """The latest mark of each card (by when it was reviewed on the device)."""
    latest: dict[tuple[str, int], dict[str, Any]] = {}
    for item in get_services().store.items.find(MARK_KIND, owner_id=owner_id, limit=100000):
        key = (item.parent_id, int(item.data.get("card_index", -1)))
        if key not in latest or item.data.get("reviewed_at", 0) > latest[key].get("reviewed_at", 0):
            latest[key] = item.data
    return latest


def _review_order(card: dict[str, Any], last: dict[str, Any] | None) -> tuple[int, float]:
    """New cards first, then cards the student did not know, then the longest unseen."""
    if last is None:
        return 0, 0.0
    return (1 if last.get("grade") == "again" else 2), float(last.get("reviewed_at", 0))


def build_deck(owner_id: str) -> list[dict[str, Any]]:
    """The student's cards in review order (until spaced repetition schedules them)."""
    deck: list[dict[str, Any]] = []
    for course_name, artifact in _flashcard_decks(owner_id):
        for index, card in enumerate(_cards(artifact)):
            front, back = str(card.get("front", "")).strip(), str(card.get("back", "")).strip()
            if not front or not back:
                continue
            deck.append({
                "id": f"{artifact.id}:{index}",
                "artifact_id": artifact.id,
                "card_index": index,
                "course_id": artifact.course_id,
                "course": course_name,
                "deck": artifact.title,
                "front": front,
                "back": back,
                "source": _source_label(artifact, card.get("source")),
            })
    latest = _last_marks(owner_id)
    deck.sort(key=lambda c: _review_order(c, latest.get((c["artifact_id"], c["card_index"]))))
    return deck[:MAX_CARDS]


@bp.route("/review")
@login_required
def index() -> Any:
    decks = _flashcard_decks(current_user.id)
    card_count = sum(len(_cards(a)) for _, a in decks)
    reviewed = len(get_services().store.items.find(MARK_KIND, owner_id=current_user.id, limit=100000))
    return render_template("review/index.html", deck_count=len(decks), card_count=card_count,
                           reviewed=reviewed)


@bp.route("/review/deck.json")
@login_required
def deck() -> Any:
    """The cards to keep on the device, and a fresh CSRF token for sending marks later."""
    return jsonify({
        "user_id": current_user.id,
        "generated_at": time.time(),
        "csrf_token": generate_csrf(),
        "cards": build_deck(current_user.id),
    })


def _check_mark(raw: Any, owned: dict[str, Artifact]) -> tuple[Item | None, str]:
    """The item to store for one mark, or an (English, translatable) reason it is refused."""
    if not isinstance(raw, dict):
        return None, USER_MESSAGES["malformed"]
    mark_id, artifact_id = raw.get("id"), raw.get("artifact_id")
    card_index, grade, reviewed_at = raw.get("card_index"), raw.get("grade"), raw.get("reviewed_at")
    if not isinstance(mark_id, str) or not MARK_ID_RE.match(mark_id):
        return None, USER_MESSAGES["malformed"]
    if grade not in GRADES:
        return None, USER_MESSAGES["malformed"]
    if not isinstance(card_index, int) or isinstance(card_index, bool) or card_index < 0:
        return None, USER_MESSAGES["malformed"]
    if not isinstance(reviewed_at, (int, float)) or isinstance(reviewed_at, bool):
        return None, USER_MESSAGES["malformed"]
    artifact = owned.get(str(artifact_id))
    if artifact is None:
        store = get_services().store
        found = store.artifacts.get(str(artifact_id)) if isinstance(artifact_id, str) else None
        if found is None or found.owner_id != current_user.id or found.kind != "flashcards":
            return None, USER_MESSAGES["gone"]
        owned[found.id] = artifact = found
    if card_index >= len(_cards(artifact)):
        return None, USER_MESSAGES["gone"]
    now = time.time()
    item = Item(
        id=new_id(),
        kind=MARK_KIND,
        owner_id=current_user.id,
        course_id=artifact.course_id,
        parent_id=artifact.id,
        key=mark_id,
        data={"card_index": card_index, "grade": grade,
              "reviewed_at": min(float(reviewed_at), now), "received_at": now},
    )
    return item, ""


@bp.route("/review/marks", methods=["POST"])
@login_required
def marks() -> Any:
    """Apply marks made on the device. Each mark id is applied once; a resend reports it as duplicate."""
    body = request.get_json(silent=True)
    raw_marks = body.get("marks") if isinstance(body, dict) else None
    if not isinstance(raw_marks, list):
        return json_error(400, "The request was not understood.")
    if len(raw_marks) > MAX_MARKS_PER_REQUEST:
        return json_error(400, "Too many review marks at once. Please try again.")
    store = get_services().store
    owned: dict[str, Artifact] = {}
    accepted: list[str] = []
    duplicate: list[str] = []
    rejected: list[dict[str, str]] = []
    for raw in raw_marks:
        item, problem = _check_mark(raw, owned)
        mark_id = str(raw.get("id", "")) if isinstance(raw, dict) else ""
        if item is None:
            rejected.append({"id": mark_id, "error": gettext(problem)})
            continue
        try:
            store.items.add(item)
        except DuplicateError:
            duplicate.append(item.key)
            continue
        accepted.append(item.key)
    if accepted or rejected:
        log.info("review marks from %s: %d applied, %d duplicate, %d refused",
                 current_user.id, len(accepted), len(duplicate), len(rejected))
    return jsonify({"accepted": accepted, "duplicate": duplicate, "rejected": rejected})
