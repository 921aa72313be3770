"""Hebrew terms with their English names in brackets, as the glossary and the bilingual lexicon read them."""

from __future__ import annotations

import pytest

from studybuddy.ai.offline.text import bilingual_pairs


@pytest.mark.parametrize(("text", "pairs"), [
    ("חוק הביקוש (Law of Demand) קובע כי עודף הצרכן (Consumer surplus) גדל.",
     [("חוק הביקוש", "Law of Demand"), ("קובע כי עודף הצרכן", "Consumer surplus")]),
    # At most four words before the bracket name the term.
    ("אחת שתיים שלוש ארבע חמש (Five words)", [("שתיים שלוש ארבע חמש", "Five words")]),
    # Words that introduce a term are cut; a Latin word or a lone letter before a bracket is no term.
    ("הגדרה: נקרא גם תנועה-אחידה (Uniform motion) ו-x(Not) ו(Ab)", [("גם תנועה-אחידה", "Uniform motion")]),
    ("מים(Water) ואש (Fire)", [("מים", "Water"), ("ואש", "Fire")]),
    ("אין כאן סוגריים", []),
    ("(English first) ואז עברית", []),
    # The phrase is read on the bracket's own line, or just before a line break ahead of it.
    ("שורה ראשונה עם מילים\nעודף הצרכן (Consumer surplus)", [("עודף הצרכן", "Consumer surplus")]),
    ("עודף הצרכן\n(Consumer surplus) גדל", [("עודף הצרכן", "Consumer surplus")]),
    ("עודף הצרכן \n(Consumer surplus)", [("עודף הצרכן", "Consumer surplus")]),
    ("מחיר\n\n(Price)", []),
])
def test_bilingual_pairs(text: str, pairs: list[tuple[str, str]]) -> None:
    assert bilingual_pairs(text) == pairs


def test_a_pair_far_into_a_long_text_is_found_whole() -> None:
    text = "מילה " * 5000 + "פוטוסינתזה (Photosynthesis)"
    assert bilingual_pairs(text) == [("מילה מילה מילה פוטוסינתזה", "Photosynthesis")]
