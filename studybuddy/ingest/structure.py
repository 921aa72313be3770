"""Reading the structure marked in page text: headings ("# " to "### "), list items ("- "),
table rows (cells joined by " | ") and plain paragraphs, for pages that show them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_HEADING = re.compile(r"^(#{1,3}) (.+)$")
_ITEM = re.compile(r"^- (.+)$")
MAX_OUTLINE = 40


@dataclass
class Block:
    kind: str  # heading, list, row, paragraph
    level: int = 0  # heading level 1-3
    lines: list[str] = field(default_factory=list)


def page_blocks(text: str) -> list[Block]:
    """The blocks of one page's text in order; consecutive items form one list."""
    blocks: list[Block] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            if blocks and blocks[-1].kind == "paragraph":
                blocks.append(Block("break"))
            continue
        heading = _HEADING.match(line)
        item = _ITEM.match(line)
        if heading:
            blocks.append(Block("heading", len(heading.group(1)), [heading.group(2)]))
        elif item:
            if blocks and blocks[-1].kind == "list":
                blocks[-1].lines.append(item.group(1))
            else:
                blocks.append(Block("list", lines=[item.group(1)]))
        elif " | " in line:
            blocks.append(Block("row", lines=line.split(" | ")))
        elif blocks and blocks[-1].kind == "paragraph":
            blocks[-1].lines.append(line)
        else:
            blocks.append(Block("paragraph", lines=[line]))
    return [block for block in blocks if block.kind != "break"]


def outline(pages: Iterable[tuple[int, str]]) -> list[tuple[int, str, int]]:
    """(level, heading, page number) of a document's headings, the first MAX_OUTLINE of them."""
    out: list[tuple[int, str, int]] = []
    for number, text in pages:
        for line in text.split("\n"):
            match = _HEADING.match(line.strip())
            if match:
                out.append((len(match.group(1)), match.group(2), number))
                if len(out) >= MAX_OUTLINE:
                    return out
    return out


def stored_outline(text: str) -> list[tuple[int, str, int]]:
    """An outline kept with a document (JSON), read back; empty when there is none or it is damaged."""
    if not text:
        return []
    try:
        return [(int(level), str(title), int(page)) for level, title, page in json.loads(text)]
    except (ValueError, TypeError):
        return []
