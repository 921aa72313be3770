"""Anki and CSV both ways: our .apkg re-imports to identical cards (and Anki itself opens it), decks
made by genanki and collections made by Anki (anki21 and zstd anki21b) import, CSV/TSV round trips
are lossless, and bad files are refused with a clear message and change nothing."""

from __future__ import annotations

import io
import sqlite3
import uuid
import zipfile
from pathlib import Path
from typing import Any

import genanki
import pytest

from studybuddy.store.cards import Card, Deck
from studybuddy.store.models import Course, new_id
from studybuddy.study.anki import ANKI_EPOCH, export_apkg, read_apkg
from studybuddy.study.cardfiles import import_cards, read_delimited, read_upload, write_delimited
from studybuddy.study.review import Mark, ReviewError, apply_mark
from studybuddy.study.scheduling import Settings, memory_of

from .conftest import World

START = 1_767_600_000.0
TRICKY = [
    ("מה ההבדל בין \"מיטוזה\" ל'מיוזה'?", "מיטוזה:\tשני תאים זהים\nמיוזה:\tארבעה תאי מין, \"חצי\" מהכרומוזומים"),
    ("Photosynthesis, in one line", "light → sugar; 6CO₂ + 6H₂O → C₆H₁₂O₆ + 6O₂"),
    ("שורה\nשנייה\n\nושלישית", "a \"quoted\" answer, with a comma;\tand a tab"),
    ("<b>not html</b> & <i>kept as text</i>", "1 < 2 && 3 > 2"),
]


def _deck_with_history(world: World) -> tuple[Deck, list[Card]]:
    cards = [Card(id=new_id(), owner_id=world.alice.id, course_id=world.course.id, deck_id=world.deck.id,
                  front=front, back=back, tags=["ביולוגיה", f"t{i}"], position=i,
                  source={"document_id": "", "document_name": "תא.pdf", "page": i + 2} if i % 2 == 0 else {},
                  suspended=i == 3)
             for i, (front, back) in enumerate(TRICKY)]
    world.store.cards.add_many(cards)
    for i, card in enumerate(cards[:3]):
        for n, (offset, grade) in enumerate(((0, 3), (600, 3), (5 * 86400, 1 + i), (20 * 86400, 3))):
            apply_mark(world.store, world.alice.id, Mark(str(uuid.uuid4()), card.id, grade, START + offset + 7 * i + n),
                       Settings(), now=START + 40 * 86400)
    return world.deck, [world.store.cards.get(c.id) for c in cards]


def _import(world: World, data: bytes, filename: str, owner: Any = None, course: Course | None = None) -> Any:
    owner = owner or world.bob
    course = course or world.bobs_course
    return import_cards(world.store, owner.id, course, read_upload(data, filename), Settings())


def _nothing_changed(world: World) -> None:
    assert world.store.decks.list_for_owner(world.bob.id) == []
    assert world.store.cards.list_for_owner(world.bob.id) == []
    assert world.store.reviews.count_for_owner(world.bob.id) == 0


def test_our_apkg_reimports_to_identical_cards_with_their_history(world: World) -> None:
    deck, cards = _deck_with_history(world)
    reviews = {c.id: world.store.reviews.for_card(c.id) for c in cards}
    data = export_apkg([(deck, cards)], reviews)
    result = _import(world, data, "פרק 1.apkg")
    assert [d.name for d in result.decks] == ["פרק 1"] and result.cards == 4 and result.reviews == 12
    again = world.store.cards.list_for_deck(result.decks[0].id)
    assert [(c.front, c.back, c.tags, c.suspended) for c in again] == \
        [(c.front, c.back, c.tags, c.suspended) for c in cards]
    assert [(c.source.get("document_name"), c.source.get("page")) for c in again] == \
        [(c.source.get("document_name"), c.source.get("page")) for c in cards]
    # The history came too, so the memory state is the same.
    assert [memory_of(c) for c in again] == [memory_of(c) for c in cards]


def test_anki_itself_opens_our_export(world: World, tmp_path: Path) -> None:
    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    deck, cards = _deck_with_history(world)
    path = tmp_path / "export.apkg"
    path.write_bytes(export_apkg([(deck, cards)], {c.id: world.store.reviews.for_card(c.id) for c in cards},
                                 course_name=world.course.name))
    col = Collection(str(tmp_path / "collection.anki2"))
    try:
        col.import_anki_package(ImportAnkiPackageRequest(
            package_path=str(path), options=ImportAnkiPackageOptions(with_scheduling=True)))
        assert col.decks.by_name("ביולוגיה::פרק 1") is not None
        fronts = sorted(col.get_note(nid)["Front"] for nid in col.find_notes(""))
        assert "Photosynthesis, in one line" in fronts and len(fronts) == 4
        assert col.db.scalar("select count() from revlog") == 12
        assert col.db.scalar("select count() from cards where queue = -1") == 1  # the suspended one
        assert col.db.scalar("select count() from cards where type = 2") == 3  # in review in Anki too
        source = col.get_note(col.find_notes('"Front:Photosynthesis*"')[0])
        assert source["Back"].startswith("light")
    finally:
        col.close()


def test_a_genanki_deck_with_ankis_own_note_types_imports(world: World, tmp_path: Path) -> None:
    deck = genanki.Deck(2_059_400_110, "Biology::Cells")
    deck.add_note(genanki.Note(model=genanki.BASIC_MODEL, fields=["What is a <b>cell</b>?", "The unit of life"],
                               tags=["cells"]))
    deck.add_note(genanki.Note(model=genanki.BASIC_AND_REVERSED_CARD_MODEL,
                               fields=["תא", "cell<script>alert('x')</script><img src=x onerror=alert(1)>"]))
    path = tmp_path / "genanki.apkg"
    genanki.Package(deck).write_to_file(str(path))
    result = _import(world, path.read_bytes(), "genanki.apkg")
    cards = world.store.cards.list_for_deck(result.decks[0].id)
    assert result.decks[0].name == "Biology › Cells"
    assert [(c.front, c.back, c.tags) for c in cards] == [
        ("What is a cell?", "The unit of life", ["cells"]), ("תא", "cell", []), ("cell", "תא", [])]


@pytest.mark.parametrize("legacy", [False, True], ids=["anki21b-zstd", "anki21-legacy"])
def test_a_collection_made_by_anki_imports(world: World, tmp_path: Path, legacy: bool) -> None:
    from anki.collection import Collection, ExportAnkiPackageOptions

    col = Collection(str(tmp_path / "source.anki2"))
    try:
        deck_id = col.decks.id("פרק 1::תת־פרק")
        basic, reversed_ = col.models.by_name("Basic"), col.models.by_name("Basic (and reversed card)")
        for model, front, back, tags in ((basic, "מהו <b>תא</b>?", "יחידת החיים<br>הבסיסית", ["תאים"]),
                                         (reversed_, "mitochondria", "מיטוכונדריה", [])):
            note = col.new_note(model)
            note["Front"], note["Back"], note.tags = front, back, tags
            col.add_note(note, deck_id)
        cloze = col.new_note(col.models.by_name("Cloze"))
        cloze["Text"] = "The {{c1::nucleus}} holds DNA"
        col.add_note(cloze, deck_id)
        col.decks.select(deck_id)
        first = col.sched.getCard()
        col.sched.answerCard(first, 3)
        out = tmp_path / "anki.apkg"
        col.export_anki_package(out_path=str(out), limit=None, options=ExportAnkiPackageOptions(
            with_scheduling=True, with_media=True, legacy=legacy))
    finally:
        col.close()
    names = zipfile.ZipFile(out).namelist()
    assert ("collection.anki21b" in names) is not legacy and ("collection.anki21" in names) is legacy
    result = _import(world, out.read_bytes(), "anki.apkg")
    assert [d.name for d in result.decks] == ["פרק 1 › תת־פרק"]
    assert result.skipped == 1 and result.reviews == 1  # the cloze note is left out
    cards = world.store.cards.list_for_deck(result.decks[0].id)
    assert sorted((c.front, c.back) for c in cards) == sorted([
        ("מהו תא?", "יחידת החיים\nהבסיסית"), ("mitochondria", "מיטוכונדריה"), ("מיטוכונדריה", "mitochondria")])
    assert sum(c.reps for c in cards) == 1
    assert next(c for c in cards if c.front == "מהו תא?").tags == ["תאים"]


def test_csv_and_tsv_round_trips_are_lossless(world: World) -> None:
    """Hebrew with tabs, quotes, commas, semicolons and line breaks; < and & too (a field that looks
    like HTML markup is read as HTML and sanitised, as on every import)."""
    rows = TRICKY[:3] + [("1 < 2 && 3 > 2", "a&b; x<y")]
    cards = [Card(id=new_id(), owner_id=world.alice.id, course_id=world.course.id, deck_id=world.deck.id,
                  front=f, back=b) for f, b in rows]
    for delimiter, name in ((",", "cards.csv"), ("\t", "cards.tsv")):
        text = write_delimited(cards, delimiter)
        back = read_delimited(text.encode("utf-8"), name)
        assert [(c.front, c.back) for c in back.cards] == rows, delimiter
    # With a spreadsheet's BOM, and Quizlet's own plain "term<TAB>definition" lines.
    assert [(c.front, c.back) for c in read_delimited(b"\xef\xbb\xbf" + write_delimited(cards, ",").encode(),
                                                      "x.csv").cards] == rows
    quizlet = "תא\tיחידת החיים\nmitochondria\tthe cell's power plant, \"they say\"\n".encode()
    assert [(c.front, c.back) for c in read_delimited(quizlet, "quizlet.txt").cards] == [
        ("תא", "יחידת החיים"), ("mitochondria", "the cell's power plant, \"they say\"")]


def _package(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return out.getvalue()


def _collection_with(cards: int) -> bytes:
    from genanki.apkg_col import APKG_COL
    from genanki.apkg_schema import APKG_SCHEMA

    conn = sqlite3.connect(":memory:")
    conn.executescript(APKG_SCHEMA)
    conn.executescript(APKG_COL)
    conn.executemany("INSERT INTO notes VALUES (?, ?, 1, 0, -1, '', ?, '', 0, 0, '')",
                     ((i, f"g{i}", f"q{i}\x1fa{i}") for i in range(1, cards + 1)))
    conn.executemany("INSERT INTO cards VALUES (?, ?, 1, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '')",
                     ((i, i) for i in range(1, cards + 1)))
    conn.commit()
    return conn.serialize()


def _other_database() -> bytes:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)")
    return conn.serialize()


BAD_FILES: list[tuple[str, Any, str]] = [
    ("notes.apkg", lambda: b"this is not a zip file at all", "This file is not an Anki package"),
    ("bomb.apkg", lambda: _package({"collection.anki2": b"\0" * 30_000_000}), "too large to import"),
    ("empty.apkg", lambda: _package({"media": b"{}"}), "This file is not an Anki package"),
    ("junk.apkg", lambda: _package({"collection.anki2": b"SQLite format 3\x00" + b"\x07" * 4000}),
     "no collection we can read"),
    ("wrong.apkg", lambda: _package({"collection.anki21b": b"\x28\xb5\x2f\xfd garbage"}), "no collection we can read"),
    ("other.apkg", lambda: _package({"collection.anki2": _other_database()}), "no collection we can read"),
    ("huge.apkg", lambda: _package({"collection.anki2": _collection_with(100_000)}), "100,000 cards"),
    ("huge.csv", lambda: "\n".join(f"q{i},a{i}" for i in range(100_000)).encode(), "one import takes 20,000 at most"),
    ("binary.csv", lambda: b"\x00\x01\x02\x03" * 100, "not a text file of cards"),
    ("nothing.csv", lambda: b"only-one-column\n\n", "No cards were found"),
]


@pytest.mark.parametrize("name, make, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_get_a_clear_message_and_change_nothing(world: World, name: str, make: Any, message: str) -> None:
    with pytest.raises(ReviewError, match=message.replace("(", r"\(")):
        _import(world, make(), name)
    _nothing_changed(world)


def test_html_and_script_in_imported_fields_become_plain_text(world: World) -> None:
    rows = ('"<script>fetch(\'//evil\')</script>שאלה<img src=x onerror=alert(1)>",'
            '"<a href=\'javascript:alert(1)\'>תשובה</a><style>p{}</style>&lt;b&gt;"\n')
    result = _import(world, rows.encode(), "x.csv")
    (card,) = world.store.cards.list_for_deck(result.decks[0].id)
    assert (card.front, card.back) == ("שאלה", "תשובה<b>")


def test_an_import_that_fails_half_way_leaves_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from studybuddy.store.base import StoreError

    imported = read_apkg(export_apkg(*_args_for_export(world)))
    monkeypatch.setattr(type(world.store.reviews), "add", lambda self, review: (_ for _ in ()).throw(
        StoreError("disk full")))
    with pytest.raises(StoreError):
        import_cards(world.store, world.bob.id, world.bobs_course, imported, Settings())
    _nothing_changed(world)


def _args_for_export(world: World) -> tuple[list[tuple[Deck, list[Card]]], dict[str, Any]]:
    deck, cards = _deck_with_history(world)
    return [(deck, cards)], {c.id: world.store.reviews.for_card(c.id) for c in cards}


def test_export_writes_anki_schedules_from_our_state(world: World) -> None:
    deck, cards = _deck_with_history(world)
    data = export_apkg([(deck, cards)], {c.id: world.store.reviews.for_card(c.id) for c in cards})
    conn = sqlite3.connect(":memory:")
    conn.deserialize(zipfile.ZipFile(io.BytesIO(data)).read("collection.anki2"))
    rows = conn.execute("SELECT notes.flds, cards.type, cards.due, cards.ivl, cards.data FROM cards "
                        "JOIN notes ON notes.id = cards.nid ORDER BY cards.id").fetchall()
    reviewed = [r for r in rows if r[1] == 2]
    assert len(reviewed) == 3
    for flds, _type, due, ivl, data_json in reviewed:
        card = next(c for c in cards if c.front.replace("\n", "<br>")[:5] in flds)
        assert due == int((card.due - ANKI_EPOCH) // 86400) and ivl >= 1 and '"s"' in data_json
