"""Retrieval: the right chunk first for Hebrew queries, with and without prefix letters, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from studybuddy.ingest.hebrew import search_form
from studybuddy.ingest.retrieval import Retrieval, mark_course_changed
from studybuddy.store.models import Chunk, Course, Document, User, new_id

PASSAGES = [
    "הספר מתאר את תולדות העם היהודי בימי הביניים",
    "המים בים המלח מלוחים מאוד ואין בהם דגים",
    "הפוטוסינתזה מתרחשת בעלים של הצמח בעזרת אור השמש",
    "המיטוכונדריה היא תחנת הכוח של התא",
    "Newton's second law: force equals mass times acceleration",
    "חוק ניוטון השני קובע שכוח שווה למסה כפול תאוצה",
]


@pytest.fixture(params=["sqlite", "mongomock"])
def any_store(request: Any, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        from studybuddy.store.sqlite import SqliteStore

        s: Any = SqliteStore(tmp_path / "db.sqlite", tmp_path / "blobs")
    else:
        import mongomock
        import mongomock.gridfs

        from studybuddy.store.mongo import MongoStore

        mongomock.gridfs.enable_gridfs_integration()
        s = MongoStore("mongodb://localhost/studybuddy_test", client=mongomock.MongoClient())
    yield s
    s.close()


def _add_document(store: Any, course: Course, name: str, passages: list[str]) -> Document:
    document = store.documents.add(Document(id=new_id(), course_id=course.id, owner_id=course.owner_id,
                                            display_name=name, status="ready"))
    store.chunks.replace_for_document(document.id, [
        Chunk(id=new_id(), document_id=document.id, course_id=course.id, ordinal=i, page=i + 1, text=text,
              search_text=search_form(text), start=0, end=len(text))
        for i, text in enumerate(passages)
    ])
    mark_course_changed(store, course.id)
    return document


@pytest.fixture
def course(any_store: Any) -> Course:
    user = any_store.users.add(User(id=new_id(), email="alice@example.com", password_hash="x"))
    return any_store.courses.add(Course(id=new_id(), owner_id=user.id, name="ביולוגיה"))


@pytest.mark.parametrize(
    "query,page",
    [
        ("ספר", 1), ("ובספר", 1), ("לספר", 1), ("הספרים", None),
        ("ים", 2), ("בים", 2), ("וכשבים", 2),
        ("פוטוסינתזה", 3), ("והפוטוסינתזה", 3), ("בעלים", 3), ("עלים", 3),
        ("מיטוכונדריה", 4), ("שהמיטוכונדריה", 4), ("תא", 4),
        ("force", 5), ("FORCE acceleration", 5),
        ("כוח ותאוצה", 6),
    ],
)
def test_right_chunk_first(any_store: Any, course: Course, query: str, page: int | None) -> None:
    document = _add_document(any_store, course, "סיכום.pdf", PASSAGES)
    hits = Retrieval(any_store).search(course.id, query)
    if page is None:
        # A word that no passage holds (only the prefix letters are stripped, not the plural
        # ending) sends no passage at all: nothing unrelated is dressed up as a hit.
        assert hits == [], [(h.chunk.page, h.score) for h in hits]
        return
    assert hits, f"no hit for {query!r}"
    assert hits[0].chunk.page == page, [(h.chunk.page, h.score) for h in hits]
    assert hits[0].document_name == "סיכום.pdf"
    assert hits[0].chunk.document_id == document.id
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_nikud_in_query_or_text_does_not_matter(any_store: Any, course: Course) -> None:
    _add_document(any_store, course, "a.txt", ["בְּרֵאשִׁית בָּרָא אֱלֹהִים", "טקסט אחר לגמרי"])
    assert Retrieval(any_store).search(course.id, "בראשית")[0].chunk.page == 1
    assert Retrieval(any_store).search(course.id, "בְּרֵאשִׁית")[0].chunk.page == 1


def test_exact_form_ranks_above_prefix_match(any_store: Any, course: Course) -> None:
    _add_document(any_store, course, "a.txt", ["על הספר הזה", "בספר הזה יש הכול"])
    hits = Retrieval(any_store).search(course.id, "בספר")
    assert [h.chunk.page for h in hits] == [2, 1]


def test_document_filter_k_and_empty_queries(any_store: Any, course: Course) -> None:
    first = _add_document(any_store, course, "a.pdf", ["התא והגרעין", "התא והממברנה"])
    second = _add_document(any_store, course, "b.pdf", ["התא בצמחים"])
    retrieval = Retrieval(any_store)
    assert {h.chunk.document_id for h in retrieval.search(course.id, "תא")} == {first.id, second.id}
    assert [h.chunk.document_id for h in retrieval.search(course.id, "תא", document_id=second.id)] == [second.id]
    assert len(retrieval.search(course.id, "תא", k=1)) == 1
    assert retrieval.search(course.id, "   ") == []
    assert retrieval.search(course.id, "!!!") == []
    assert retrieval.search(course.id, "תא", document_id="no-such-document") == []
    assert retrieval.search("no-such-course", "תא") == []


def test_index_follows_changes(any_store: Any, course: Course) -> None:
    retrieval = Retrieval(any_store)
    assert retrieval.search(course.id, "קפיברה") == []
    document = _add_document(any_store, course, "a.txt", ["הקפיברה היא המכרסם הגדול בעולם"])
    assert retrieval.search(course.id, "קפיברה")[0].chunk.document_id == document.id
    any_store.delete_document(document.id)
    assert retrieval.search(course.id, "קפיברה") == []
    # A re-ingest replaces the chunks of a document; the version counter tells the cache.
    again = _add_document(any_store, course, "b.txt", ["טקסט ראשון"])
    assert retrieval.search(course.id, "שני") == []
    any_store.chunks.replace_for_document(again.id, [
        Chunk(id=new_id(), document_id=again.id, course_id=course.id, ordinal=0, page=1, text="טקסט שני",
              search_text=search_form("טקסט שני"))
    ])
    mark_course_changed(any_store, course.id)
    assert retrieval.search(course.id, "שני")[0].chunk.text == "טקסט שני"


def test_courses_do_not_mix(any_store: Any, course: Course) -> None:
    other = any_store.courses.add(Course(id=new_id(), owner_id=course.owner_id, name="other"))
    _add_document(any_store, other, "x.txt", ["אבולוציה ומוטציות"])
    assert Retrieval(any_store).search(course.id, "אבולוציה") == []
    assert Retrieval(any_store).search(other.id, "אבולוציה")


def test_the_lexicon_bridges_hebrew_and_english() -> None:
    from studybuddy.ingest.lexicon import Lexicon

    lexicon = Lexicon(["עודף הצרכן (Consumer surplus) הוא ההפרש בין המחיר המקסימלי למחיר בפועל.",
                       "2. מה מובילה העצה (Xylem) ומה מובילה השיפה (Phloem)?"])
    assert {"עודף", "הצרכן", "צרכן"} <= set(lexicon.translate("What is consumer surplus?"))
    assert lexicon.translate("מהו עודף צרכן?") == ["consumer", "surplus"]
    assert lexicon.translate("לאן מובילה השיפה?") == ["phloem"]  # "ומה" is not part of the term
    assert lexicon.translate("What is a market?") == []


def test_hits_are_relevant_and_do_not_repeat_text(any_store: Any, course: Course) -> None:
    from studybuddy.ingest.pipeline import build_chunks
    from studybuddy.store.models import Page

    text = " ".join(f"Sentence {i} is about stomata and guard cells in the leaf." for i in range(40))
    document = _add_document(any_store, course, "notes.txt", ["placeholder"])
    chunks = build_chunks(document, [Page(document.id, 1, text)], words=30, overlap=10)
    any_store.chunks.replace_for_document(document.id, chunks)
    mark_course_changed(any_store, course.id)
    hits = Retrieval(any_store).search(course.id, "stomata guard cells", k=6)
    assert len(hits) == 6
    spans = sorted((h.chunk.start, h.chunk.end) for h in hits)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), "no overlap"
    assert all(text[h.chunk.start:h.chunk.end] == h.chunk.text for h in hits)
    # numbers and stop words alone do not make a passage relevant
    assert Retrieval(any_store).search(course.id, "3x + 5 = 20 in the") == []


def test_the_course_languages_are_those_of_its_chunks(any_store: Any, course: Course) -> None:
    retrieval = Retrieval(any_store)
    assert retrieval.languages(course.id) == frozenset()
    _add_document(any_store, course, "he.txt", ["הפוטוסינתזה מתרחשת בעלים (Photosynthesis)"])
    assert retrieval.languages(course.id) == {"he"}
    _add_document(any_store, course, "en.txt", ["Photosynthesis happens in the leaves (עלים)"])
    assert retrieval.languages(course.id) == {"he", "en"}


def test_the_index_holds_each_chunks_search_terms_numbered_as_first_met() -> None:
    import random

    from studybuddy.ingest.hebrew import search_terms
    from studybuddy.ingest.retrieval import _CourseIndex

    rng = random.Random(4)
    # Words, prefixes, quotes, odd spaces and separators that are no space to str.split() alone.
    alphabet = [*"אבגדהוזחטיכלמנסעפצקרשתםן", *"abcXYZ019_'\"-.,()", "ומה", "של", " ", " ", "\n", "\t", "\u00a0",
                "\u3000", "\x1c", "\u05f3", "é", "ß"]
    chunks = []
    for i in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        chunks.append(Chunk(id=new_id(), document_id=f"d{i % 3}", course_id="c", ordinal=i, page=1, text=text,
                            search_text=search_form(text)))
    chunks.append(Chunk(id=new_id(), document_id="d0", course_id="c", ordinal=300, page=1, text="מילה",
                        search_text="מילה"))
    index = _CourseIndex(chunks)
    names = {number: term for term, number in index.vocab.items()}
    for i, chunk in enumerate(chunks):
        assert {names[number] for number in index.chunk_terms[i]} == set(search_terms(chunk.search_text))
    first_met = list(dict.fromkeys(term for chunk in chunks for term in search_terms(chunk.search_text)))
    assert [term for term in index.vocab if term] == first_met  # bm25s adds "" for empty queries
