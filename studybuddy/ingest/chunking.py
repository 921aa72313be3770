"""Chunking: overlapping windows of words inside one page, each with its page and offsets."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Words: runs of non-space characters. The page text's structure markers (`# ` headings, `- `
# list items, ` | ` table cells) are not words: they neither count towards a chunk's size nor start
# or end one. word_bounds finds them in bulk (a match object per word was most of the cost).
_MARKERS = frozenset({"#", "##", "###", "-", "|"})
_LINE_MARKER = re.compile(r"[ \t]*(?:#{1,3}|-)[ \t]+")
_SENTENCE_END = re.compile(r"[.!?:;׃]['\")\]]*$")


@functools.lru_cache(maxsize=1)
def _space_table() -> Any:
    """Per code point up to U+3001, whether it is a space (as `\\s` and str.isspace take it).

    No code point past U+3000 is a space; everything past it is looked up as U+3001.
    """
    import numpy as np

    table = np.zeros(0x3002, dtype=bool)
    table[[c for c in range(0x3001) if chr(c).isspace()]] = True
    return table


def word_bounds(text: str) -> tuple[list[int], list[int]]:
    """Where each word of the text starts and ends, found from the text's spaces in bulk, the few
    markers then left out."""
    import numpy as np

    table = _space_table()
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    inside = np.zeros(len(codes) + 2, dtype=bool)  # in a word, with a space before and after the text
    inside[1:-1] = ~table[np.minimum(codes, len(table) - 1)]
    edges = np.flatnonzero(inside[1:] != inside[:-1])
    starts, ends = edges[0::2], edges[1::2]
    first = codes[starts]
    maybe_marker = (ends - starts <= 3) & ((first == ord("#")) | (first == ord("-")) | (first == ord("|")))
    if maybe_marker.any():
        keep = np.ones(len(starts), dtype=bool)
        for i in np.flatnonzero(maybe_marker).tolist():
            keep[i] = text[starts[i]:ends[i]] not in _MARKERS
        starts, ends = starts[keep], ends[keep]
    return starts.tolist(), ends.tolist()


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
    starts, ends = word_bounds(text)
    if not starts:
        return []
    words = max(1, words)
    overlap = max(0, min(overlap, words // 2))
    out: list[ChunkSpan] = []
    first = 0
    while first < len(starts):
        last = min(first + words, len(starts)) - 1
        if last < len(starts) - 1:
            for candidate in range(last, last - max(1, words // 5), -1):
                if candidate > first and _SENTENCE_END.search(text[starts[candidate]:ends[candidate]]):
                    last = candidate
                    break
        start, end = starts[first], ends[last]
        marker = _LINE_MARKER.match(text, text.rfind("\n", 0, start) + 1)
        if marker and marker.end() == start:  # keep a heading's or list item's marker with its words
            start = marker.start()
        out.append(ChunkSpan(page=number, start=start, end=end, text=text[start:end]))
        if last >= len(starts) - 1:
            break
        first = max(first + 1, last + 1 - overlap)
    return out


def chunk_pages(pages: Iterable[tuple[int, str]], words: int, overlap: int) -> list[ChunkSpan]:
    """Chunks of every page of one document, in reading order."""
    out: list[ChunkSpan] = []
    for number, text in pages:
        out.extend(chunk_page(number, text, words, overlap))
    return out
