"""Cards in and out of files: CSV/TSV as Quizlet writes and reads them ("term<TAB>definition",
one card a row; fields with the delimiter, quotes or line breaks are quoted CSV-style), and the
import of an Anki package or such a file into a course, all or nothing."""

from __future__ import annotations

import csv
import io
import re
import logging
from dataclasses import dataclass

from ..store.base import Store
from ..store.cards import Card, Deck, Review
from ..store.models import Course, new_id
from .anki import MAX_IMPORT_CARDS, MAX_IMPORT_DECKS, TOO_MANY, Imported, ImportedCard, read_apkg
from .decks import MAX_DECK_NAME, MAX_FIELD_CHARS, plain_text
from .review import N_, ReviewError, Settings, settle

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
HEADERS = {("front", "back"), ("term", "definition"), ("question", "answer"), ("שאלה", "תשובה"), ("מונח", "הגדרה")}
NOT_TEXT = N_("This file is not a text file of cards. Use .apkg from Anki, or .csv / .tsv / .txt with one card a line.")
TOO_LARGE_FILE = N_("The file is too large to import (20 MB at most).")


def write_delimited(cards: list[Card], delimiter: str) -> str:
    """term<delimiter>definition rows; a field is quoted only when it must be."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    for card in cards:
        writer.writerow([card.front, card.back])
    return out.getvalue()


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is None:
        raise ReviewError(NOT_TEXT)
    return data.decode(best.encoding, errors="replace")


def _delimiter(text: str, filename: str) -> str:
    """A tab for .tsv (and for .txt with tabs: Quizlet's export); else a comma, or a semicolon when
    the first line has more of them."""
    lower = filename.lower()
    first = re.sub(r'"[^"]*"', "", text.split("\n", 1)[0])  # what quoted fields hold does not count
    if lower.endswith(".tsv") or (not lower.endswith(".csv") and "\t" in first):
        return "\t"
    return ";" if first.count(";") > first.count(",") else ","


def read_delimited(data: bytes, filename: str) -> Imported:
    """Cards from a CSV, TSV or Quizlet text export. Fields are read as text that may hold HTML
    (Anki's text export does): markup is removed by the sanitiser, as on every import."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReviewError(NOT_TEXT)
    text = _decode(data)
    delimiter = _delimiter(text, filename)
    deck = plain_text(filename.rsplit(".", 1)[0]).replace("\n", " ")[:MAX_DECK_NAME] or "Imported"
    cards: list[ImportedCard] = []
    skipped = 0
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)):
            if number == 0 and len(row) >= 2 and (row[0].strip().lower(), row[1].strip().lower()) in HEADERS:
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(cards) >= MAX_IMPORT_CARDS:
                raise ReviewError(TOO_MANY % {"n": f"{MAX_IMPORT_CARDS + 1:,}+"})
            front = plain_text(row[0])[:MAX_FIELD_CHARS] if row else ""
            back = plain_text(row[1]) if len(row) > 1 else ""
            if not front or not back[:MAX_FIELD_CHARS]:
                skipped += 1
                continue
            cards.append(ImportedCard(deck=deck, front=front, back=back[:MAX_FIELD_CHARS], tags=[], source={}))
    except csv.Error as exc:
        raise ReviewError(NOT_TEXT) from exc
    return Imported(cards=cards, skipped=skipped)


def read_upload(data: bytes, filename: str) -> Imported:
    if len(data) > MAX_FILE_BYTES:
        raise ReviewError(TOO_LARGE_FILE)
    lower = filename.lower()
    if lower.endswith((".apkg", ".colpkg")) or data[:4] == b"PK\x03\x04":
        return read_apkg(data)
    return read_delimited(data, filename)


@dataclass(frozen=True)
class ImportResult:
    decks: list[Deck]
    cards: int
    reviews: int
    skipped: int
    media: int


def import_cards(store: Store, owner_id: str, course: Course, imported: Imported, settings: Settings) -> ImportResult:
    """New decks in the course with the imported cards and their history. Nothing is kept if any
    part fails."""
    if not imported.cards:
        raise ReviewError(N_("No cards were found in this file."))
    names = list(dict.fromkeys(c.deck for c in imported.cards))
    if len(names) > MAX_IMPORT_DECKS:
        raise ReviewError(N_("This file has more than 200 decks; import them in parts."))
    decks = {name: Deck(id=new_id(), owner_id=owner_id, course_id=course.id,
                        name=plain_text(name.replace("::", " › "))[:MAX_DECK_NAME] or "Imported")
             for name in names}
    cards: list[Card] = []
    reviews: list[Review] = []
    for position, item in enumerate(imported.cards):
        deck = decks[item.deck]
        card = Card(id=new_id(), owner_id=owner_id, course_id=course.id, deck_id=deck.id, front=item.front,
                    back=item.back, tags=item.tags, source=_linked(store, course, item.source), position=position,
                    suspended=item.suspended)
        cards.append(card)
        for revlog_id, reviewed_at, grade in item.history:
            reviews.append(Review(id=new_id(), owner_id=owner_id, card_id=card.id, grade=grade,
                                  mark_id=f"a{card.id}-{revlog_id}"[:64], reviewed_at=round(reviewed_at, 3)))
    made: list[Deck] = []
    try:
        for deck in decks.values():
            made.append(store.decks.add(deck))
        store.cards.add_many(cards)
        for review in reviews:
            store.reviews.add(review)
        for card_id in {r.card_id for r in reviews}:
            settle(store, card_id, settings)
    except Exception:
        for deck in made:
            store.decks.delete(deck.id)
        raise
    log.info("import for %s: %d cards in %d decks, %d reviews, %d skipped, %d media files left out",
             owner_id, len(cards), len(made), len(reviews), imported.skipped, imported.media)
    return ImportResult(decks=made, cards=len(cards), reviews=len(reviews), skipped=imported.skipped,
                        media=imported.media)


def _linked(store: Store, course: Course, source: dict[str, object]) -> dict[str, object]:
    """A citation from a file, linked to the course's document of that name when there is one."""
    name = str(source.get("document_name") or "")
    if not name:
        return {}
    for document in store.documents.list_for_course(course.id):
        if document.display_name == name:
            return {**source, "document_id": document.id}
    return dict(source)
