"""Structure marked in page text: read back for pages, and never indexed as words."""

from __future__ import annotations

from studybuddy.ingest.chunking import chunk_pages
from studybuddy.ingest.hebrew import search_form, search_terms
from studybuddy.ingest.structure import page_blocks, outline

PAGE = "# פרק 1: התא\nהתא הוא יחידת החיים.\nשורה שנייה.\n\n## המבנה\n- גרעין\n- ממברנה\nמונח | הגדרה\n### סיכום"


def test_page_blocks_read_headings_lists_rows_and_paragraphs() -> None:
    blocks = [(b.kind, b.level, b.lines) for b in page_blocks(PAGE)]
    assert blocks == [
        ("heading", 1, ["פרק 1: התא"]),
        ("paragraph", 0, ["התא הוא יחידת החיים.", "שורה שנייה."]),
        ("heading", 2, ["המבנה"]),
        ("list", 0, ["גרעין", "ממברנה"]),
        ("row", 0, ["מונח", "הגדרה"]),
        ("heading", 3, ["סיכום"]),
    ]


def test_plain_text_that_only_looks_like_a_marker_stays_a_paragraph() -> None:
    assert [(b.kind, b.lines) for b in page_blocks("#hashtag\n-5 מעלות")] == [
        ("paragraph", ["#hashtag", "-5 מעלות"])]


def test_outline_lists_headings_with_their_pages() -> None:
    assert outline([(1, PAGE), (2, "טקסט\n# פרק 2")]) == [
        (1, "פרק 1: התא", 1), (2, "המבנה", 1), (3, "סיכום", 1), (1, "פרק 2", 2)]


def test_markers_are_not_indexed_as_words() -> None:
    chunks = chunk_pages([(1, PAGE)], 500, 0)
    terms = search_terms(search_form(" ".join(c.text for c in chunks)))
    assert not {"#", "##", "###", "-", "|"} & set(terms)
    assert "גרעין" in terms and "הגדרה" in terms


def test_stored_outline_reads_back_and_survives_damage() -> None:
    from studybuddy.ingest.structure import stored_outline

    assert stored_outline('[[1, "פרק", 2]]') == [(1, "פרק", 2)]
    assert stored_outline("") == [] and stored_outline("not json") == [] and stored_outline("[1]") == []
