"""The lines of a PDF page in logical order, decided line by line from evidence.

pdfium's text of a line is kept where it is logical: a line with no right-to-left letter, a
plain right-to-left line (Hebrew letters, spaces and punctuation), or a right-to-left line
whose lone numbers the glyph boxes show painted where pdfium put them. A line that mixes
Hebrew with Latin words, brackets, signs or numbers glued to punctuation comes out of pdfium
partly turned (numbers split from their punctuation, Latin words in reverse order), whatever
made the PDF. Such a line is rebuilt from what the reader sees: its glyphs sorted by their
position on the page (the painting order), bracket shapes read from the page geometry, then
put in logical order by the Unicode Bidirectional Algorithm (python-bidi). The algorithm laid
the line out when the PDF was made; applied to the painted line it lays it back. Where more
than one logical line paints the same way, the readings are checked by laying each out again,
and the one written as people write wins.

Brackets need care: a generator may map a mirrored glyph to either bracket, and pdfium
mirrors the characters it takes as right to left, so the code points say little. On the
page, though, the left bracket of a pair always opens to the right; the shapes are set from
that, and once the line is logical, from the same evidence read right to left.

The extraction corpus (tests/ingest/corpus.py: fpdf2 plain and shaped, LibreOffice Writer
and Impress, Chromium) is the referee; bench/extract_quality.py measures against it.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import re
import unicodedata
from typing import Any

from bidi import get_display

_RTL_LETTER = re.compile("[\u0590-\u05ff\u0600-\u06ff\u0700-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
# Characters whose place pdfium gets right in a right-to-left line (no digits, Latin, brackets).
_PLAIN_RTL = re.compile("[\u0591-\u05f4\\s.,:;!?'\"\u2019\u201c\u201d\u2013\u2014-]*")
_MANY_SPACES = re.compile(" {2,}")
BULLETS = "•\uf0b7\u25e6\u25aa\u25a0\u2023\u2043\uf0a7\uf0d8"
_BULLET = re.compile(f"^[{BULLETS}]\\s*")
_ANY_BRACKET = re.compile(r"[()\[\]{}]")
_FAMILIES = {"(": "()", ")": "()", "[": "[]", "]": "[]", "{": "{}", "}": "{}"}
_OPENS_AFTER = set("([{\"'\u05be-\u2013\u2014/")
_CLOSES_BEFORE = set(".,;:!?)]}\"'\u05be-\u2013\u2014/%")


def has_rtl(text: str) -> bool:
    return _RTL_LETTER.search(text) is not None


def list_item(line: str) -> str:
    """A line led by a bullet glyph becomes a list item ("- text"), as in our page text."""
    return _BULLET.sub("- ", line, count=1) if line[:1] in BULLETS else line


def resolve_brackets(text: str) -> str:
    """Bracket shapes set from their neighbours, read in the order of `text`.

    A bracket with a space (or the start) before it and text after it opens; one with text
    before it and a space, punctuation or the end after it closes; otherwise it closes an
    open pair of its kind, or else opens one.
    """
    found = list(_ANY_BRACKET.finditer(text))
    if not found:
        return text
    out = list(text)
    depth = {"()": 0, "[]": 0, "{}": 0}
    for match in found:
        i = match.start()
        family = _FAMILIES[text[i]]
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        opens = (before.isspace() or before in _OPENS_AFTER) and not after.isspace()
        closes = (after.isspace() or after in _CLOSES_BEFORE) and not before.isspace()
        if opens == closes:
            opens = depth[family] == 0
        out[i] = family[0] if opens else family[1]
        depth[family] = depth[family] + 1 if opens else max(depth[family] - 1, 0)
    return "".join(out)


@functools.lru_cache(maxsize=1)
def _rtl_placeholders() -> tuple[str, ...]:
    """Right-to-left letters no document line uses, to stand in for letters carrying marks."""
    return tuple(chr(c) for c in range(0x10800, 0x11000) if unicodedata.bidirectional(chr(c)) == "R")


def visual_to_logical(clusters: list[str], rtl: bool) -> str:
    """Painted clusters (base character + its marks, left to right) in logical order."""
    # The algorithm turns marks around with their letters; a right-to-left letter carrying
    # marks is replaced by a placeholder of the same class while the line is reordered.
    joined = "".join(clusters)
    if len(joined) == len(clusters):  # no marks: nothing to stand in for
        visual = resolve_brackets(joined)
        return resolve_brackets(str(get_display(visual, base_dir="R" if rtl else "L")))
    standins: dict[str, str] = {}
    pool = iter(_rtl_placeholders())
    chars: list[str] = []
    for cluster in clusters:
        if len(cluster) > 1 and unicodedata.bidirectional(cluster[0]) == "R":
            standin = next(pool, None)
            if standin is not None:
                standins[standin] = cluster
                chars.append(standin)
                continue
        chars.append(cluster)
    visual = resolve_brackets("".join(chars))
    logical = str(get_display(visual, base_dir="R" if rtl else "L"))
    if standins:
        logical = "".join(standins.get(ch, ch) for ch in logical)
    return resolve_brackets(logical)


def line_is_rtl(visual: str) -> bool:
    """Right-to-left paragraph direction for a painted line.

    The logical first letter of a right-to-left line is painted rightmost: a line whose
    rightmost letter is Hebrew is right to left; otherwise the majority of letters decides.
    """
    last = next((ch for ch in reversed(visual) if ch.isalpha()), None)
    if last is None:
        return False
    if _RTL_LETTER.match(last):
        return True
    letters = [ch for ch in visual if ch.isalpha()]
    rtl = sum(1 for ch in letters if _RTL_LETTER.match(ch))
    return rtl >= len(letters) - rtl


# pdfium's bindings convert every argument through its declared pointer type, which costs
# more than the call itself; these prototypes take the same arguments as plain addresses.
_BOX_CALL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                             ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
_ORIGIN_CALL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


@functools.lru_cache(maxsize=1)
def _lean_calls() -> tuple[Any, Any]:
    """FPDFText_GetCharBox and FPDFText_GetCharOrigin, called with addresses."""
    import pypdfium2.raw as pdfium_c

    def lean(function: Any, prototype: Any) -> Any:
        return prototype(ctypes.cast(function, ctypes.c_void_p).value)

    return lean(pdfium_c.FPDFText_GetCharBox, _BOX_CALL), lean(pdfium_c.FPDFText_GetCharOrigin, _ORIGIN_CALL)


class _Boxes:
    """Glyph boxes of one pdfium text page (one call into pdfium per character).

    Valid while its text page is open (it keeps the page's address, not the page).
    """

    def __init__(self, textpage: Any):
        self.get_box, self.get_origin = _lean_calls()
        self.handle = ctypes.cast(textpage.raw, ctypes.c_void_p).value
        self.left, self.right, self.bottom, self.top = (ctypes.c_double() for _ in range(4))
        self.refs = tuple(ctypes.addressof(v) for v in (self.left, self.right, self.bottom, self.top))
        self.origin_x, self.origin_y = ctypes.c_double(), ctypes.c_double()
        self.origin_refs = (ctypes.addressof(self.origin_x), ctypes.addressof(self.origin_y))

    def origin(self, index: int) -> float | None:
        """Where a character's glyph starts (rounded: characters of one glyph share it)."""
        if not self.get_origin(self.handle, index, *self.origin_refs):
            return None
        return round(self.origin_x.value, 2)

    def span(self, index: int) -> tuple[float, float] | None:
        """Left and right edge of a character's glyph; None where pdfium has no box."""
        if not self.get_box(self.handle, index, *self.refs):
            return None
        left, right = self.left.value, self.right.value
        if right < left or (left == 0 and right == 0):
            return None
        return left, right


def _painted_clusters(boxes: _Boxes, start: int, line: str) -> list[str] | None:
    """The line's glyphs sorted by position, left to right, with its spaces put back.

    Marks join the letter they sit on. A glyph drawn for a letter with its marks (one
    shaped cluster) comes out of pdfium as several characters with one origin and the glyph's
    box cut in pieces: characters sharing an origin are one cluster, whatever their pieces
    say. Other marks go to the letter whose box holds them, else the nearest. Spaces have no
    glyph worth trusting (zero-width boxes, or none where pdfium added them), so the word
    gaps are taken from the page: as many spaces as pdfium found, less those it put inside
    a cluster, go into the widest gaps between glyphs. None when a character has no box.
    """
    clusters: list[list[Any]] = []  # [left, right, origin, text]
    by_origin: dict[float, list[Any]] = {}
    loose_marks: list[tuple[float, str]] = []
    space_origins: list[float | None] = []
    combining = unicodedata.combining
    for offset, char in enumerate(line):
        if char == " " or char.isspace():
            if offset == 0 or not line[offset - 1].isspace():
                space_origins.append(boxes.origin(start + offset))
            continue
        span = boxes.span(start + offset)
        origin = boxes.origin(start + offset)
        if span is None:
            if combining(char) and clusters:
                clusters[-1][3] += char
                continue
            return None
        same = by_origin.get(origin) if origin is not None else None
        if same is not None:
            same[0], same[1] = min(same[0], span[0]), max(same[1], span[1])
            same[3] += char
        elif combining(char):
            loose_marks.append(((span[0] + span[1]) / 2, char))
        else:
            cluster = [span[0], span[1], origin, char]
            clusters.append(cluster)
            if origin is not None:
                by_origin[origin] = cluster
    if not clusters:
        return None
    clusters.sort(key=lambda c: c[0] + c[1])
    for centre, mark in loose_marks:  # onto the letter whose box holds it, else the nearest one
        def distance(cluster: list[Any], centre: float = centre) -> float:
            left, right = cluster[0], cluster[1]
            return 0.0 if left <= centre <= right else min(abs(centre - left), abs(centre - right))
        min(clusters, key=distance)[3] += mark
    spaces = sum(1 for origin in space_origins if origin is None or origin not in by_origin)
    return _with_spaces([(c[0], c[1]) for c in clusters], [[_base_first(c[3])] for c in clusters], spaces)


def _base_first(cluster: str) -> str:
    """A cluster's letters before its marks (pdfium may list a mark first)."""
    if not cluster or not unicodedata.combining(cluster[0]):
        return cluster
    letters = "".join(ch for ch in cluster if not unicodedata.combining(ch))
    return letters + "".join(ch for ch in cluster if unicodedata.combining(ch))


def _with_spaces(spans: list[tuple[float, float]], units: list[list[str]], spaces: int) -> list[str]:
    """Units in painting order, flattened, with `spaces` spaces in the widest gaps between them."""
    gaps = sorted(range(len(spans) - 1), key=lambda k: spans[k + 1][0] - spans[k][1], reverse=True)
    wide = {k for k in gaps[:spaces] if spans[k + 1][0] - spans[k][1] > 0}
    out: list[str] = []
    for k, unit in enumerate(units):
        out.extend(unit)
        if k in wide:
            out.append(" ")
    return out


# Runs of right-to-left words (letters with maqaf and geresh, single spaces between words),
# runs of other letters and digits, spaces, and single characters of anything else.
_RTL_RUN = "[\u05be\u05c0\u05c3\u05c6-\u05f4\u0600-\u06ff\u0700-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]+"
_OTHER_RUNS = (
    "|(?P<ltr>[^\\W_\u05be\u05c0\u05c3\u05c6-\u05f4\u0600-\u06ff\u0700-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]+)"
    "|(?P<space>\\s+)|(?P<other>.)"
)
_RUNS = re.compile(f"(?P<rtl>{_RTL_RUN}(?: {_RTL_RUN})*){_OTHER_RUNS}", re.DOTALL)
_WORD_RUNS = re.compile(f"(?P<rtl>{_RTL_RUN}){_OTHER_RUNS}", re.DOTALL)


def _painted_runs(boxes: _Boxes, start: int, line: str) -> list[str] | None:
    """Like _painted_clusters, with a box asked only at the ends of each run of letters or digits.

    Within a Hebrew word, or a run of Latin letters and digits, pdfium's order is right, and
    so is the order of Hebrew words in a row when pdfium took the line as right to left (its
    first character painted right of its last); the boxes of a run's first and last
    character say where it is painted and which way. Punctuation between runs is placed one
    character at a time. None for lines with marks (nikud) or without boxes: the caller then
    places every character.
    """
    if _COMBINING.search(line):
        return None
    units: list[list[str]] = []
    spans: list[tuple[float, float]] = []
    spaces = 0
    span = boxes.span
    stripped = line.rstrip()
    head = len(line) - len(line.lstrip())
    first_char, last_char = span(start + head), span(start + len(stripped) - 1)
    if first_char is None or last_char is None:
        return None
    pdfium_rtl = first_char[0] + first_char[1] > last_char[0] + last_char[1]
    for match in (_RUNS if pdfium_rtl else _WORD_RUNS).finditer(line):
        if match.lastgroup == "space":
            spaces += 1
            continue
        first_index, last_index = match.start(), match.end() - 1
        first = span(start + first_index)
        last = first if last_index == first_index else span(start + last_index)
        if first is None or last is None:
            return None
        run = list(match.group())
        if first[0] + first[1] > last[0] + last[1]:
            run.reverse()  # painted right to left
        units.append(run)
        spans.append((min(first[0], last[0]), max(first[1], last[1])))
    if not units:
        return None
    order = sorted(range(len(units)), key=lambda k: spans[k][0] + spans[k][1])
    return _with_spaces([spans[k] for k in order], [units[k] for k in order], spaces)


_STARTS_WITH_STOP = re.compile(r"^[.,;:!?]")
# A number standing alone between words: digits, maybe with separators inside, maybe a %.
_LONE_NUMBER = re.compile(r"(?<!\S)\d+(?:[.,:/\u2013-]\d+)*%?(?!\S)")


def _numbers_in_place(boxes: _Boxes, start: int, line: str) -> bool:
    """A right-to-left line of words and lone numbers whose numbers pdfium put where they are painted.

    Each number must be painted left to right, left of the character before it and right of
    the one after it (four boxes a number); then pdfium's text is the logical line.
    """
    numbers = list(_LONE_NUMBER.finditer(line))
    if not numbers or not _PLAIN_RTL.fullmatch(_LONE_NUMBER.sub("", line)):
        return False
    span = boxes.span
    for number in numbers:
        first, last = span(start + number.start()), span(start + number.end() - 1)
        if first is None or last is None or first[0] > last[0]:
            return False
        before = number.start() - 2  # the character before the space before the number
        after = number.end() + 1
        if before >= 0:
            neighbour = span(start + before)
            if neighbour is None or neighbour[0] < last[1]:
                return False
        if after < len(line):
            neighbour = span(start + after)
            if neighbour is None or neighbour[1] > first[0]:
                return False
    return True


_MARKS = re.compile("[\u0300-\u036f\u0591-\u05c7]")
_COMBINING = re.compile("[\u0300-\u036f\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]")


def _paints_as(logical: str, painted: str, rtl: bool) -> bool:
    """Whether the bidi algorithm lays `logical` out as `painted` (bracket shapes aside)."""
    # Marks are left out: the algorithm turns them around with their letters, a page does not.
    shown = str(get_display(_MARKS.sub("", logical), base_dir="R" if rtl else "L"))
    return _fold(_MANY_SPACES.sub(" ", shown).strip()) == _fold(_MARKS.sub("", painted))


def _fold(text: str) -> str:
    """Brackets of a kind made one (str.replace: far quicker here than str.translate)."""
    return text.replace(")", "(").replace("]", "[").replace("}", "{")


def _readings(clusters: list[str], rtl: bool, line: str) -> list[str]:
    """Logical readings of a painted line, most trusted first."""
    from .hebrew import visual_to_logical as turn_runs

    painted = "".join(clusters)
    readings = [visual_to_logical(clusters, rtl)]
    # A second inversion: the line turned around with its Latin runs and numbers turned back.
    readings.append(resolve_brackets(turn_runs(painted, rtl=rtl, mirror=False)))
    readings.append(line)  # pdfium's own
    return [_MANY_SPACES.sub(" ", reading).strip() for reading in readings]


def logical_line(boxes: _Boxes, start: int, line: str) -> str:
    """One line of pdfium's text (starting at character `start`) in logical order.

    The line is read back from its painted glyphs; of the readings, the first that the bidi
    algorithm lays out exactly as the page shows it wins.
    """
    if not has_rtl(line) or _PLAIN_RTL.fullmatch(line):
        return line  # pdfium's order is right (a line painted backwards is mended later, by its words)
    if _numbers_in_place(boxes, start, line):
        return line
    clusters = _painted_runs(boxes, start, line) or _painted_clusters(boxes, start, line)
    if clusters is None:
        return line
    painted = _MANY_SPACES.sub(" ", "".join(clusters)).strip()
    rtl = line_is_rtl(painted)
    first = _MANY_SPACES.sub(" ", visual_to_logical(clusters, rtl)).strip()
    if not _typographic_faults(first) and _paints_as(first, painted, rtl):
        return first  # the best any reading can be: no need to try the others
    readings = _readings(clusters, rtl, line)
    if _STARTS_WITH_STOP.match(readings[0]):
        # No sentence starts with its full stop: the line was laid out in the other direction.
        other = _readings(clusters, not rtl, line)
        if not _STARTS_WITH_STOP.match(other[0]):
            rtl, readings = not rtl, other
    faithful = [reading for reading in readings if _paints_as(reading, painted, rtl)]
    if not faithful:
        return readings[0]
    # Several logical lines can paint alike ("3: Intro" and "Intro :3" beside Hebrew); the
    # one written as people write (no space before a colon, none inside brackets) wins.
    return min(faithful, key=_typographic_faults)


_FAULTS = re.compile(r"\s[,.:;!?%](?=\S)|[(\[{]\s|\s[)\]}]|^[.,;:!?]|(?:^|\s)[\u0591-\u05c7]")


def _typographic_faults(text: str) -> int:
    return len(_FAULTS.findall(text))


def page_text(textpage: Any) -> str:
    """The text of one pdfium text page, every line in logical order, bullets as list items."""
    text: str = textpage.get_text_range()
    lines = text.split("\r\n")
    if has_rtl(text) and len(text) == textpage.count_chars():
        starts = list(itertools.accumulate((len(line) + 2 for line in lines[:-1]), initial=0))
        boxes = _Boxes(textpage)
        for index, line in enumerate(lines):
            # A line of right-to-left letters, spaces and plain punctuation only keeps pdfium's
            # text without a look at its glyphs.
            if not _PLAIN_RTL.fullmatch(line):
                lines[index] = logical_line(boxes, starts[index], line)
    return "\n".join(list_item(line) if line[:1] in BULLETS else line for line in lines)
