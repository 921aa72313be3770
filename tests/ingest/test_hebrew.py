"""The Hebrew normaliser: logical order back from painting order, NFC, nikud only out of the index."""

from __future__ import annotations

import unicodedata

import pytest

from studybuddy.ingest.hebrew import (
    line_is_rtl,
    normalize_display,
    query_terms,
    reversal_score,
    search_form,
    search_terms,
    visual_to_logical,
)

from .makers import painting_order

LINES = [
    "שלום עולם, זהו קורס 2024 של CS 101 מבוא (חלק א) ומחירו 50%.",
    "המשוואה x = 3.14 * r היא חשובה",
    "בשנת 1948 הוקמה מדינת ישראל.",
    "פרק 3: Introduction to Algorithms, עמוד 12-15",
    "ראה סעיף 1 2 3 בהמשך",
    "ב-1948, 60% מהאוכלוסייה גרו בערים",
    "קורס CS",
    "מחיר 3.5$ לק\"ג",
    "שָׁלוֹם עוֹלָם",
    "הנוסחה E=mc2 ידועה",
    "קורס Introduction to Algorithms מעולה",
    "ראו [1] ו-(2)",
    "ראו (Smith, 2020) וגם [RNA]",
    "החומר (DNA) בגרעין",
]


@pytest.mark.parametrize("logical", LINES)
def test_painting_order_goes_back_to_logical(logical: str) -> None:
    visual = painting_order(logical)
    assert visual != logical
    assert line_is_rtl(visual)
    assert visual_to_logical(visual) == logical


def test_left_to_right_line_turns_only_its_hebrew_words() -> None:
    assert visual_to_logical("The word םולש means peace", rtl=False) == "The word שלום means peace"
    assert not line_is_rtl("The word םולש means peace")


def test_final_letters_at_word_starts_mark_a_reversed_line() -> None:
    logical = "הספרים נמצאים בארון הגדול של הכיתה"
    assert reversal_score(logical[::-1]) > 0
    assert reversal_score(logical) < 0


def test_normalize_display_repairs_reversed_lines_and_keeps_logical_ones() -> None:
    logical_line = "הספרים נמצאים בארון הגדול"
    reversed_line = "החלטנו ללכת הביתה מוקדם"[::-1]
    # A line with no final letter follows the majority of its page.
    ambiguous = "של הילדה הקטנה"[::-1]
    text = "\n".join([reversed_line, ambiguous, "בשנה שעברה הם למדו באותה כיתה"[::-1]])
    assert normalize_display(text).split("\n") == [
        "החלטנו ללכת הביתה מוקדם", "של הילדה הקטנה", "בשנה שעברה הם למדו באותה כיתה",
    ]
    assert normalize_display(logical_line) == logical_line


def test_normalize_display_is_nfc_and_tidies_whitespace() -> None:
    decomposed = unicodedata.normalize("NFD", "שָׁלוֹם  café\u00a0\u200f ok ")
    out = normalize_display(decomposed + "\r\n\r\n\r\n\r\nnext")
    assert out == unicodedata.normalize("NFC", "שָׁלוֹם café ok") + "\n\nnext"
    assert unicodedata.is_normalized("NFC", out)


@pytest.mark.parametrize(("raw", "tidy"), [
    ("שלום\t\u00a0 עולם  \u3000ומה  \nשורה  שנייה ", "שלום עולם ומה\nשורה שנייה"),
    ("one\u2003two\tthree", "one two three"),  # a lone odd space becomes a plain one
    ("מילה אחת בכל רווח\n  מוזחת", "מילה אחת בכל רווח\nמוזחת"),  # plain single spaces: only the ends go
])
def test_runs_of_spaces_become_one_plain_space(raw: str, tidy: str) -> None:
    assert normalize_display(raw) == tidy


def test_hyphenation_across_lines() -> None:
    assert normalize_display("the algo-\nrithm runs") == "the algorithm runs"
    # A Hebrew compound keeps its hyphen; only the line break goes.
    assert normalize_display("בית-\nספר") == "בית-ספר"


def test_display_keeps_nikud_and_search_form_strips_it() -> None:
    pointed = "בְּרֵאשִׁית בָּרָא"
    assert normalize_display(pointed) == unicodedata.normalize("NFC", pointed)
    assert search_form(pointed) == "בראשית ברא"
    # Cantillation too, and maqaf splits words for the index.
    assert search_form("בְּרֵאשִׁ֖ית בֵּית־הַסֵּפֶר") == "בראשית בית הספר"
    assert search_form("Hello WORLD") == "hello world"


def test_search_terms_add_prefixless_forms() -> None:
    assert search_terms("וכשהלכתי") == ["וכשהלכתי", "כשהלכתי", "שהלכתי", "הלכתי"]
    assert search_terms("בספר") == ["בספר", "ספר"]
    # A two-letter stem is the shortest form produced.
    assert search_terms("בים") == ["בים", "ים"]
    assert search_terms('צה"ל') == ["צהל"]
    assert query_terms("ובספר ספר") == ["ובספר", "בספר", "ספר"]
