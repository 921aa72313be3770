"""Chunking: overlapping windows of words inside one page, each with its page and offsets."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Words. The page text's structure markers (`# ` headings, `- ` list items, ` | ` table cells) are
# not words: they neither count towards a chunk's size nor start or end one.
_WORD = re.compile(r"(?<!\S)(?!(?:#{1,3}|-|\|)(?!\S))\S+")
_LINE_MARKER = re.compile(r"[ \t]*(?:#{1,3}|-)[ \t]+")
_SENTENCE_END = re.compile(r"[.!?:;׃]['\")\]]*$")


@dataclass(frozen=True)
class ChunkSpan:
    page: int
    start: int  # character offsets into the page's display text
    end: int
    text: str


def chunk_page(number: int, text: str, words: int, overlap: int) -> list[ChunkSpan]:
    """Windows of about `words` words sharing `overlap` words; a chunk never leaves its page.

    A window that has a sentence end in its last fifth stops there, so chunks tend to end
    on whole sentences.
    """
    spans = [m.span() for m in _WORD.finditer(text)]
    if not spans:
        return []
    words = max(1, words)
    overlap = max(0, min(overlap, words // 2))
    out: list[ChunkSpan] = []
    first = 0
    while first < len(spans):
        last = min(first + words, len(spans)) - 1
        if last < len(spans) - 1:
            for candidate in range(last, last - max(1, words // 5), -1):
                if candidate > first and _SENTENCE_END.search(text[spans[candidate][0]:spans[candidate][1]]):
                    last = candidate
                    break
        start, end = spans[first][0], spans[last][1]
        marker = _LINE_MARKER.match(text, text.rfind("\n", 0, start) + 1)
        if marker and marker.end() == start:  # keep a heading's or list item's marker with its words
            start = marker.start()
        out.append(ChunkSpan(page=number, start=start, end=end, text=text[start:end]))
        if last >= len(spans) - 1:
            break
        first = max(first + 1, last + 1 - overlap)
    return out


def chunk_pages(pages: Iterable[tuple[int, str]], words: int, overlap: int) -> list[ChunkSpan]:
    """Chunks of every page of one document, in reading order."""
    out: list[ChunkSpan] = []
    for number, text in pages:
        out.extend(chunk_page(number, text, words, overlap))
    return out
