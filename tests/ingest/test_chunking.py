"""Chunking: overlapping word windows that stay inside their page and know where they came from."""

from __future__ import annotations

import re

from studybuddy.ingest.chunking import chunk_page, chunk_pages


def test_short_page_is_one_chunk_with_offsets() -> None:
    text = "  התא הוא יחידת החיים  "
    (chunk,) = chunk_page(4, text, words=50, overlap=10)
    assert (chunk.page, chunk.text) == (4, "התא הוא יחידת החיים")
    assert text[chunk.start:chunk.end] == chunk.text


def test_long_page_overlaps_and_offsets_point_into_the_page() -> None:
    words = [f"מילה{i}" for i in range(100)]
    text = " ".join(words)
    chunks = chunk_page(2, text, words=30, overlap=10)
    assert len(chunks) == 5
    for chunk in chunks:
        assert text[chunk.start:chunk.end] == chunk.text
        assert chunk.page == 2
        assert len(chunk.text.split()) <= 30
    # Each chunk starts ten words before the previous one ended.
    assert chunks[1].text.split()[0] == words[20]
    assert chunks[-1].text.split()[-1] == words[-1]
    covered = set()
    for chunk in chunks:
        covered.update(chunk.text.split())
    assert covered == set(words)


def test_windows_prefer_to_end_on_a_sentence() -> None:
    sentence = "אחת שתיים שלוש ארבע חמש שש שבע שמונה תשע."
    text = " ".join([sentence] * 4)
    chunks = chunk_page(1, text, words=10, overlap=2)
    assert chunks[0].text.endswith("תשע.")


def test_chunks_never_cross_pages() -> None:
    chunks = chunk_pages([(1, "עמוד ראשון קצר"), (2, ""), (3, "עמוד שלישי")], words=100, overlap=10)
    assert [(c.page, c.text) for c in chunks] == [(1, "עמוד ראשון קצר"), (3, "עמוד שלישי")]


def test_structure_markers_are_not_words() -> None:
    from studybuddy.ingest.chunking import chunk_page

    text = "# Elasticity\n## Price elasticity\n- one two three\n- four five six\nrow | seven | eight"
    chunks = chunk_page(1, text, words=3, overlap=0)
    # 11 words, markers not counted: chunks of three words (headings and items keep their marker)
    assert [c.text for c in chunks] == ["# Elasticity\n## Price elasticity", "- one two three",
                                        "- four five six", "row | seven | eight"]
    assert all(text[c.start:c.end] == c.text for c in chunks)


# What a word is, written as one pattern: a run of non-space characters that is not a structure
# marker (`#`, `##`, `###`, `-`, `|` standing alone).
_WORD = re.compile(r"(?<!\S)(?!(?:#{1,3}|-|\|)(?!\S))\S+")


def test_word_bounds_are_the_words_the_pattern_finds() -> None:
    import random

    from studybuddy.ingest.chunking import word_bounds

    rng = random.Random(8)
    # Structure markers and their look-alikes, every kind of space str.isspace knows of, a lone
    # surrogate and characters past the last space code point.
    pieces = [*"אבגa.#-|", " ", "\n", "\t", "##", "###", "####", " - ", "# ", "-x", "|y", "\u00a0", "\u2003",
              "\x1c", "\x85", "\u2028", "\u3000", "\u3001", "\U0001F600", "\ud800", "מילה."]
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        starts, ends = word_bounds(text)
        assert list(zip(starts, ends)) == [m.span() for m in _WORD.finditer(text)], repr(text)
