"""HTML: the text of a page with its headings, list items and table rows, read in one pass.

The page is read as a stream of tags (the standard library's HTMLParser) rather than built
into a tree, so time grows with the size of the file only: a page of 100,000 nested <div>
is read as fast as a flat one.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from . import messages
from .office import heading
from .parsing import ExtractionError, Progress, no_progress
from .textdecode import decode_text

if TYPE_CHECKING:
    from ..config import IngestConfig

_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "iframe", "object", "head", "math"})
_BLOCKS = frozenset({
    "p", "div", "section", "article", "ul", "ol", "pre", "blockquote", "header", "footer", "table",
    "dd", "dt", "hr", "main", "nav", "aside", "figure", "figcaption", "caption", "form", "fieldset",
    "address", "details", "summary", "dl", "tbody", "thead", "tfoot",
})
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 3, "h5": 3, "h6": 3}
_SPACES = re.compile(r"\s+")


class _PageText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title: list[str] = []
        self.skip = 0  # depth inside elements whose text is not content
        self.in_title = False
        self.pre = 0
        self.row: list[list[str]] | None = None  # cells of the open table row
        self.cell: list[str] | None = None

    def _emit(self, text: str) -> None:
        if self.cell is not None:
            self.cell.append(text)
        else:
            self.out.append(text)

    def _end_cell(self) -> None:
        if self.row is not None and self.cell is not None:
            self.row.append(self.cell)
        self.cell = None

    def _end_row(self) -> None:
        self._end_cell()
        if self.row is not None:
            cells = [_SPACES.sub(" ", "".join(cell)).strip() for cell in self.row]
            line = " | ".join(cell for cell in cells if cell)
            if line:
                self.out.append("\n" + line)
        self.row = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            if tag == "head":
                return  # the title inside still counts
            self.skip += 1
            return
        if tag == "title":
            self.in_title = True
        elif tag == "tr":
            self._end_row()
            self.row = []
        elif tag in ("td", "th"):
            self._end_cell()
            if self.row is None:
                self.row = []
            self.cell = []
        elif self.skip:
            return
        elif tag in _HEADINGS:
            self._emit("\n\n" + heading("", _HEADINGS[tag]))
        elif tag == "li":
            self._emit("\n- ")
        elif tag == "br":
            self._emit("\n")
        elif tag in _BLOCKS:
            if tag == "pre":
                self.pre += 1
            if tag == "table":
                self._end_row()
            self._emit("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr") and not self.skip:
            self._emit("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            if tag != "head":
                self.skip = max(self.skip - 1, 0)
            return
        if tag == "title":
            self.in_title = False
        elif tag == "tr":
            self._end_row()
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag == "table":
            self._end_row()
            self._emit("\n\n")
        elif self.skip:
            return
        elif tag in _HEADINGS or tag in _BLOCKS or tag == "li":
            if tag == "pre":
                self.pre = max(self.pre - 1, 0)
            if tag != "li":  # items follow one another line by line
                self._emit("\n\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        elif not self.skip:
            self._emit(data if self.pre else _SPACES.sub(" ", data))


def extract_html(data: bytes, cfg: IngestConfig, progress: Progress = no_progress) -> list[str]:
    try:
        text = decode_text(data)
    except ValueError as exc:
        raise ExtractionError(messages.TEXT_UNDECODABLE, str(exc)) from None
    parser = _PageText()
    parser.feed(text)
    parser.close()
    parser._end_row()
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
    # A heading or item whose element held no text leaves a bare marker behind.
    lines = [line for line in lines if line not in ("-", "#", "##", "###")]
    body = "\n".join(lines)
    title = _SPACES.sub(" ", "".join(parser.title)).strip()
    progress(1, 1)
    return [((title + "\n") if title and title not in body else "") + body]
