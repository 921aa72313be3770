"""Anki packages both ways. Export: genanki with Basic cards (front, back, the citation in a field),
tags, suspended cards and the review history (revlog), so Anki's FSRS can take over. Import: the
collection inside an .apkg made by Anki — legacy collection.anki2 / collection.anki21 and the newer
zstd-compressed collection.anki21b — Basic and Basic-and-reversed notes, media skipped."""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import sqlite3
import zipfile
from dataclasses import dataclass, field
from typing import Any

import genanki
import zstandard

from ..store.cards import REVIEW, Card, Deck, Review
from .decks import MAX_FIELD_CHARS, clean_tags, plain_text
from .review import N_, ReviewError

MAX_PACKAGE_BYTES = 100 * 1024 * 1024  # the collection, uncompressed
MAX_RATIO = 200  # a zip entry that expands more than this is a zip bomb
MAX_IMPORT_CARDS = 20_000
MAX_IMPORT_DECKS = 200
ANKI_EPOCH = 1411124400  # the collection creation time genanki writes (col.crt)
MODEL_ID = 1_607_392_319  # our note type, the same in every export so Anki keeps one
CSS = (".card { font-family: sans-serif; font-size: 22px; text-align: center; }\n"
       ".source { font-size: 14px; color: #666; }")

NOT_ANKI = N_("This file is not an Anki package (.apkg). Export the deck from Anki with \"Anki Deck Package\".")
BAD_COLLECTION = N_("This Anki package has no collection we can read (it may come from a newer Anki, "
                    "or be damaged).")
TOO_BIG = N_("This package is too large to import (100 MB of cards at most).")
TOO_MANY = N_("This file has %(n)s cards; one import takes 20,000 at most. Split the deck and import the parts.")
NO_CARDS = N_("No Basic cards were found in this file.")


def _model() -> genanki.Model:
    back = '{{FrontSide}}<hr id="answer"><div dir="auto">{{Back}}</div><div class="source" dir="auto">{{Source}}</div>'
    return genanki.Model(MODEL_ID, "StudyBuddy Basic", fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Source"}],
                         templates=[{"name": "Card 1", "qfmt": '<div dir="auto">{{Front}}</div>', "afmt": back}],
                         css=CSS)


def citation_text(source: dict[str, Any]) -> str:
    name, page = str(source.get("document_name") or ""), int(source.get("page") or 0)
    return f"{name} · p. {page}" if name and page else name


def parse_citation(text: str) -> dict[str, Any]:
    text = plain_text(text)
    if not text:
        return {}
    match = re.fullmatch(r"(.*) · p\. (\d{1,6})", text, re.DOTALL)
    if match:
        return {"document_id": "", "document_name": match.group(1), "page": int(match.group(2))}
    return {"document_id": "", "document_name": text, "page": 0}


def _html(text: str) -> str:
    return html.escape(text, quote=False).replace("\n", "<br>")


def _anki_id(value: str) -> int:
    return int(hashlib.sha256(value.encode()).hexdigest()[:12], 16) + (1 << 30)


def export_apkg(decks: list[tuple[Deck, list[Card]]], reviews: dict[str, list[Review]], course_name: str = "") -> bytes:
    """An .apkg of the decks (a course's decks become sub-decks of the course), with history."""
    model = _model()
    packed: list[genanki.Deck] = []
    guid_of: dict[str, Card] = {}
    for deck, cards in decks:
        name = f"{course_name}::{deck.name}" if course_name else deck.name
        anki_deck = genanki.Deck(_anki_id(deck.id), name)
        for card in cards:
            guid = genanki.guid_for("studybuddy", card.id)
            guid_of[guid] = card
            anki_deck.add_note(genanki.Note(model=model, guid=guid, tags=[t for t in card.tags if " " not in t],
                                            fields=[_html(card.front), _html(card.back),
                                                    html.escape(citation_text(card.source), quote=False)]))
        packed.append(anki_deck)
    conn = sqlite3.connect(":memory:")
    stamp = max([c.updated_at for _, cards in decks for c in cards] + [ANKI_EPOCH + 1.0])
    genanki.Package(packed).write_to_db(conn.cursor(), stamp, iter(range(int(stamp * 1000), 1 << 62)))
    _write_history(conn, guid_of, reviews)
    conn.commit()
    collection = conn.serialize()
    conn.close()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("collection.anki2", collection)
        package.writestr("media", "{}")
    return out.getvalue()


def _write_history(conn: sqlite3.Connection, guid_of: dict[str, Card], reviews: dict[str, list[Review]]) -> None:
    """The revlog rows of every mark that stands, and each card's schedule as Anki keeps it."""
    used: set[int] = set()
    rows = conn.execute("SELECT cards.id, notes.guid FROM cards JOIN notes ON notes.id = cards.nid").fetchall()
    for anki_card, guid in rows:
        card = guid_of[guid]
        if card.suspended:
            conn.execute("UPDATE cards SET queue = -1 WHERE id = ?", (anki_card,))
        marks = [r for r in reviews.get(card.id, []) if not r.undone]
        for mark in marks:
            revlog_id = int(mark.reviewed_at * 1000)
            while revlog_id in used:
                revlog_id += 1
            used.add(revlog_id)
            conn.execute("INSERT INTO revlog VALUES (?, ?, -1, ?, 0, 0, 0, ?, 1)",
                         (revlog_id, anki_card, mark.grade, min(mark.duration_ms, 60_000)))
        if card.reps and card.last_review is not None:
            memory = json.dumps({"s": round(card.stability or 0, 4), "d": round(card.difficulty or 0, 4)})
            if card.state == REVIEW:
                interval = max(1, round((card.due - card.last_review) / 86400))
                due_day = int((card.due - ANKI_EPOCH) // 86400)
                conn.execute("UPDATE cards SET type = 2, queue = ?, due = ?, ivl = ?, reps = ?, lapses = ?, data = ? "
                             "WHERE id = ?", (-1 if card.suspended else 2, due_day, interval, card.reps, card.lapses,
                                              memory, anki_card))
            else:
                conn.execute("UPDATE cards SET type = ?, queue = ?, due = ?, reps = ?, lapses = ?, data = ? "
                             "WHERE id = ?", (1 if card.state == 1 else 3, -1 if card.suspended else 1,
                                              int(card.due), card.reps, card.lapses, memory, anki_card))


# Import --------------------------------------------------------------------------------------
@dataclass
class ImportedCard:
    deck: str
    front: str
    back: str
    tags: list[str]
    source: dict[str, Any]
    suspended: bool = False
    history: list[tuple[int, float, int]] = field(default_factory=list)  # (revlog id, time, grade)


@dataclass
class Imported:
    cards: list[ImportedCard]
    skipped: int = 0  # notes of kinds we do not read (cloze, image occlusion...)
    media: int = 0  # media files left out


def read_apkg(data: bytes) -> Imported:
    """The cards of an Anki package; raises ReviewError with a clear message for anything else."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ReviewError(NOT_ANKI)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = {info.filename: info for info in package.infolist()}
            for info in names.values():
                if info.file_size > MAX_PACKAGE_BYTES or info.file_size > MAX_RATIO * max(info.compress_size, 1024):
                    raise ReviewError(TOO_BIG)
            media = sum(1 for n in names if n.isdigit())
            if "collection.anki21b" in names:
                raw = _unzstd(package.read("collection.anki21b"))
            elif "collection.anki21" in names:
                raw = package.read("collection.anki21")
            elif "collection.anki2" in names:
                raw = package.read("collection.anki2")
            else:
                raise ReviewError(NOT_ANKI)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as exc:
        raise ReviewError(NOT_ANKI) from exc
    imported = _read_collection(raw)
    imported.media = media
    return imported


def _unzstd(data: bytes) -> bytes:
    try:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
            raw = reader.read(MAX_PACKAGE_BYTES + 1)
    except zstandard.ZstdError as exc:
        raise ReviewError(BAD_COLLECTION) from exc
    if len(raw) > MAX_PACKAGE_BYTES:
        raise ReviewError(TOO_BIG)
    return raw


def _open(raw: bytes) -> sqlite3.Connection:
    if not raw.startswith(b"SQLite format 3\x00") or len(raw) < 100:
        raise ReviewError(BAD_COLLECTION)
    # A database kept in WAL mode cannot be opened from memory: mark it as a rollback-journal one.
    raw = raw[:18] + b"\x01\x01" + raw[20:]
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(raw)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        conn.close()
        raise ReviewError(BAD_COLLECTION) from exc
    return conn


def _read_collection(raw: bytes) -> Imported:
    conn = _open(raw)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"notes", "cards", "col"} <= tables:
            raise ReviewError(BAD_COLLECTION)
        (count,) = conn.execute("SELECT count(*) FROM cards").fetchone()
        if count > MAX_IMPORT_CARDS:
            raise ReviewError(TOO_MANY % {"n": f"{count:,}"})
        decks, cloze, sources = _deck_and_model_info(conn, tables)
        return _read_cards(conn, decks, cloze, sources, "revlog" in tables)
    except sqlite3.Error as exc:
        raise ReviewError(BAD_COLLECTION) from exc
    finally:
        conn.close()


def _deck_and_model_info(conn: sqlite3.Connection, tables: set[str]) -> tuple[dict[int, str], set[int], dict[int, int]]:
    """Deck names, cloze note types, and the index of a "Source" field per note type."""
    decks: dict[int, str] = {}
    cloze: set[int] = set()
    sources: dict[int, int] = {}
    if "notetypes" in tables:  # schema 18 (Anki 2.1.50 and later)
        for deck_id, name in conn.execute("SELECT id, name FROM decks"):
            decks[int(deck_id)] = str(name).replace("\x1f", "::")
        for ntid, ordinal, name in conn.execute("SELECT ntid, ord, name FROM fields"):
            if str(name).strip().lower() == "source":
                sources[int(ntid)] = int(ordinal)
        for ntid, name in conn.execute("SELECT ntid, name FROM templates"):
            if str(name).strip().lower() in ("cloze", "image occlusion"):
                cloze.add(int(ntid))
        return decks, cloze, sources
    row = conn.execute("SELECT models, decks FROM col").fetchone()
    try:
        models, deck_map = json.loads(row[0] or "{}"), json.loads(row[1] or "{}")
    except (TypeError, ValueError) as exc:
        raise ReviewError(BAD_COLLECTION) from exc
    for deck in deck_map.values() if isinstance(deck_map, dict) else []:
        if isinstance(deck, dict):
            decks[int(deck.get("id", 0))] = str(deck.get("name", ""))
    for model in models.values() if isinstance(models, dict) else []:
        if not isinstance(model, dict):
            continue
        if model.get("type") == 1:
            cloze.add(int(model.get("id", 0)))
        for index, fld in enumerate(model.get("flds") or []):
            if isinstance(fld, dict) and str(fld.get("name", "")).strip().lower() == "source":
                sources[int(model.get("id", 0))] = index
    return decks, cloze, sources


def _read_cards(conn: sqlite3.Connection, decks: dict[int, str], cloze: set[int], sources: dict[int, int],
                with_revlog: bool) -> Imported:
    history: dict[int, list[tuple[int, float, int]]] = {}
    if with_revlog:
        for revlog_id, card_id, ease, kind in conn.execute("SELECT id, cid, ease, type FROM revlog ORDER BY id"):
            if 1 <= int(ease) <= 4 and int(kind) in (0, 1, 2, 3):  # 4 and 5: rescheduled or reset by hand
                history.setdefault(int(card_id), []).append((int(revlog_id), int(revlog_id) / 1000, int(ease)))
    out: list[ImportedCard] = []
    skipped = 0
    rows = conn.execute("SELECT cards.id, cards.did, cards.ord, cards.queue, notes.mid, notes.flds, notes.tags "
                        "FROM cards JOIN notes ON notes.id = cards.nid ORDER BY cards.did, notes.id, cards.ord")
    for card_id, deck_id, ordinal, queue, model_id, fields_raw, tags in rows:
        fields = str(fields_raw).split("\x1f")
        if int(model_id) in cloze or len(fields) < 2 or int(ordinal) > 1 or re.search(r"\{\{c\d+::", fields_raw):
            skipped += 1
            continue
        front, back = (fields[0], fields[1]) if int(ordinal) == 0 else (fields[1], fields[0])
        front, back = plain_text(front)[:MAX_FIELD_CHARS], plain_text(back)[:MAX_FIELD_CHARS]
        if not front or not back:
            skipped += 1
            continue
        source_index = sources.get(int(model_id))
        source = parse_citation(fields[source_index]) if source_index is not None and \
            source_index < len(fields) else {}
        try:
            tag_list = clean_tags(str(tags or ""))
        except ReviewError:
            tag_list = clean_tags(str(tags or "").split()[:20])
        out.append(ImportedCard(deck=decks.get(int(deck_id), "Default") or "Default", front=front, back=back,
                                tags=tag_list, source=source, suspended=int(queue) == -1,
                                history=history.get(int(card_id), [])))
    return Imported(cards=out, skipped=skipped)
