"""Decks the student owns: the deck page (edit, add, delete, tag, move, suspend cards), making and
renaming decks, Anki and CSV/TSV export of a deck or a course, and import into a course."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..store.cards import STATE_NAMES, Card, Deck
from ..study.anki import export_apkg
from ..study.cardfiles import import_cards, read_upload, write_delimited
from ..study.decks import (
    add_card,
    card_text,
    create_deck,
    edit_card,
    move_cards,
    rename_deck,
    set_suspended,
)
from ..study.review import ReviewError
from . import get_services
from .access import owned_card, owned_course, owned_deck
from .review import Names, prepare, settings

log = logging.getLogger(__name__)
bp = Blueprint("decks", __name__)

EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8",
                "apkg": "application/octet-stream"}


def _back_to(deck: Deck) -> Any:
    return redirect(url_for("decks.view", deck_id=deck.id))


def _refused(exc: ReviewError, deck: Deck | None = None) -> Any:
    flash(_(str(exc)), "error")
    target = url_for("decks.view", deck_id=deck.id) if deck else url_for("review.index")
    return redirect(target), 400  # type: ignore[return-value]


@bp.route("/review/decks/<deck_id>")
@login_required
def view(deck_id: str) -> Any:
    deck = owned_deck(deck_id)
    store = get_services().store
    names = Names(current_user.id)
    cards = store.cards.list_for_deck(deck.id)
    course = store.courses.get(deck.course_id)
    others = [d for d in names.decks.values() if d.id != deck.id]
    return render_template("review/deck.html", deck=deck, course=course, cards=cards, names=names,
                           other_decks=others, state_names=STATE_NAMES)


@bp.route("/review/courses/<course_id>/decks", methods=["POST"])
@login_required
def create(course_id: str) -> Any:
    course = owned_course(course_id)
    try:
        deck = create_deck(get_services().store, current_user.id, course.id, request.form.get("name"))
    except ReviewError as exc:
        return _refused(exc)
    return _back_to(deck)


@bp.route("/review/decks/<deck_id>/rename", methods=["POST"])
@login_required
def rename(deck_id: str) -> Any:
    deck = owned_deck(deck_id)
    try:
        rename_deck(get_services().store, deck, request.form.get("name"))
    except ReviewError as exc:
        return _refused(exc, deck)
    return _back_to(deck)


@bp.route("/review/decks/<deck_id>/delete", methods=["POST"])
@login_required
def delete(deck_id: str) -> Any:
    deck = owned_deck(deck_id)
    get_services().store.decks.delete(deck.id)
    log.info("deck %s of %s deleted", deck.id, current_user.id)
    flash(_("The deck was deleted."), "info")
    return redirect(url_for("review.index"))


@bp.route("/review/decks/<deck_id>/cards", methods=["POST"])
@login_required
def add(deck_id: str) -> Any:
    deck = owned_deck(deck_id)
    try:
        add_card(get_services().store, deck, card_text(request.form))
    except ReviewError as exc:
        return _refused(exc, deck)
    flash(_("The card was added."), "info")
    return _back_to(deck)


def _card_and_deck(card_id: str) -> tuple[Card, Deck]:
    card = owned_card(card_id)
    return card, owned_deck(card.deck_id)


@bp.route("/review/cards/<card_id>", methods=["POST"])
@login_required
def edit(card_id: str) -> Any:
    card, deck = _card_and_deck(card_id)
    try:
        edit_card(get_services().store, card, card_text(request.form))
    except ReviewError as exc:
        return _refused(exc, deck)
    flash(_("The card was saved."), "info")
    return _back_to(deck)


@bp.route("/review/cards/<card_id>/delete", methods=["POST"])
@login_required
def delete_card(card_id: str) -> Any:
    card, deck = _card_and_deck(card_id)
    get_services().store.cards.delete(card.id)
    flash(_("The card was deleted."), "info")
    return _back_to(deck)


@bp.route("/review/cards/<card_id>/suspension", methods=["POST"])
@login_required
def suspension(card_id: str) -> Any:
    card, deck = _card_and_deck(card_id)
    set_suspended(get_services().store, card, request.form.get("suspended") == "1")
    return _back_to(deck)


@bp.route("/review/decks/<deck_id>/move", methods=["POST"])
@login_required
def move(deck_id: str) -> Any:
    deck = owned_deck(deck_id)
    if not request.form.get("target"):
        return _refused(ReviewError("Choose the deck to move the cards to."), deck)
    target = owned_deck(request.form["target"])
    store = get_services().store
    chosen = [owned_card(card_id) for card_id in request.form.getlist("card")]
    if not chosen:
        return _refused(ReviewError("Choose the cards to move first."), deck)
    moved = move_cards(store, [c for c in chosen if c.deck_id == deck.id], target)
    flash(ngettext("%(num)s card moved.", "%(num)s cards moved.", moved), "info")
    return _back_to(deck)


def _download(body: bytes | str, name: str, fmt: str) -> Response:
    data = body.encode("utf-8") if isinstance(body, str) else body
    if fmt == "csv":
        data = b"\xef\xbb\xbf" + data  # spreadsheets read Hebrew in CSV only with the BOM
    response = Response(data, mimetype=EXPORT_TYPES[fmt])
    safe = "".join(ch for ch in name if ch.isalnum() or ch in " -_").strip() or "deck"
    response.headers.set("Content-Disposition", "attachment", filename=f"{safe}.{fmt}")
    return response


def _reviews_of(cards: list[Card]) -> dict[str, Any]:
    store = get_services().store
    return {c.id: store.reviews.for_card(c.id) for c in cards if c.reps}


@bp.route("/review/decks/<deck_id>/export.<fmt>")
@login_required
def export_deck(deck_id: str, fmt: str) -> Any:
    deck = owned_deck(deck_id)
    if fmt not in EXPORT_TYPES:
        return redirect(url_for("decks.view", deck_id=deck.id)), 404  # type: ignore[return-value]
    cards = get_services().store.cards.list_for_deck(deck.id)
    if fmt == "apkg":
        return _download(export_apkg([(deck, cards)], _reviews_of(cards)), deck.name, fmt)
    return _download(write_delimited(cards, "\t" if fmt == "tsv" else ","), deck.name, fmt)


@bp.route("/review/courses/<course_id>/export.<fmt>")
@login_required
def export_course(course_id: str, fmt: str) -> Any:
    course = owned_course(course_id)
    if fmt not in EXPORT_TYPES:
        return redirect(url_for("review.index")), 404  # type: ignore[return-value]
    prepare()
    store = get_services().store
    decks = [(d, store.cards.list_for_deck(d.id)) for d in store.decks.list_for_owner(current_user.id, course.id)]
    cards = [c for _, deck_cards in decks for c in deck_cards]
    if fmt == "apkg":
        return _download(export_apkg(decks, _reviews_of(cards), course_name=course.name), course.name, fmt)
    return _download(write_delimited(cards, "\t" if fmt == "tsv" else ","), course.name, fmt)


@bp.route("/review/courses/<course_id>/import", methods=["POST"])
@login_required
def import_file(course_id: str) -> Any:
    course = owned_course(course_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refused(ReviewError("Please choose a file to import."))
    try:
        imported = read_upload(upload.read(), upload.filename)
        result = import_cards(get_services().store, current_user.id, course, imported, settings())
    except ReviewError as exc:
        log.info("import refused for %s: %s", current_user.id, exc)
        return _refused(exc)
    flash(ngettext("%(num)s card imported.", "%(num)s cards imported.", result.cards), "info")
    if result.reviews:
        flash(ngettext("%(num)s past review came with them.", "%(num)s past reviews came with them.",
                       result.reviews), "info")
    if result.skipped:
        flash(ngettext("%(num)s card of a kind we do not read (such as cloze) was left out.",
                       "%(num)s cards of kinds we do not read (such as cloze) were left out.", result.skipped), "info")
    if result.media:
        flash(ngettext("%(num)s media file (picture or sound) was left out: cards keep their text only.",
                       "%(num)s media files (pictures or sounds) were left out: cards keep their text only.",
                       result.media), "info")
    return redirect(url_for("decks.view", deck_id=result.decks[0].id))
