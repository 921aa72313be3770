"""Hebrew text normalisation: display text (logical order, NFC, tidy whitespace) and search form.

Many PDFs (and some old web pages) store Hebrew in visual order: each line as it is painted
left to right, so the letters of every word come out reversed. A reversed line shows itself
through final-form letters (ך ם ן ף ץ), which in logical Hebrew only end a word: seen at the
start of words they are a strong sign the line is reversed. Such lines are put back in logical
order, with Latin words and numbers kept readable and brackets mirrored.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Nikud and cantillation marks (U+0591-U+05C7), kept for display, stripped for the index.
_POINTS = re.compile("[\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]")
_MAQAF_AND_PUNCT = re.compile("[\u05be\u05c0\u05c3\u05c6]")
_HEB_LETTER = "\u05d0-\u05ea"
_HEB = re.compile(f"[{_HEB_LETTER}]")
# Bidi controls and invisible characters that extraction leaves behind.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ODD_SPACE = re.compile(r"[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_MANY_NEWLINES = re.compile(r"\n{3,}")

FINALS = "ךםןףץ"
NON_FINALS_WITH_FINAL = "כמנפצ"
PREFIX_LETTERS = "והבכלמש"

# Frequent words whose letter-reversed form is not itself a common word.
_COMMON = frozenset(
    [
        "של", "את", "על", "הוא", "היא", "זה", "זו", "גם", "כי", "או", "יש", "אין", "כל",
        "מה", "הם", "הן", "אבל", "כמו", "בין", "רק", "עוד", "כך", "אשר", "אותו", "להיות",
    ]
)
_COMMON_REVERSED = frozenset(w[::-1] for w in _COMMON) - _COMMON

_MIRROR = str.maketrans("()[]{}<>«»", ")(][}{><»«")


def strip_points(text: str) -> str:
    """Remove nikud and cantillation marks (maqaf and Hebrew punctuation become spaces)."""
    return _MAQAF_AND_PUNCT.sub(" ", _POINTS.sub("", text))


def search_form(text: str) -> str:
    """The text as it is indexed: NFC, nikud stripped, casefolded, quotes unified."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = strip_points(text)
    text = text.replace("\u05f3", "'").replace("\u05f4", '"').replace("\u2019", "'")
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    return text.casefold()


def has_hebrew(text: str) -> bool:
    return _HEB.search(text) is not None


# Each pattern starts with the letter it counts and looks behind it afterwards (`(?<=[א-ת].)`
# is "a Hebrew letter before this one"): a pattern that starts with a letter class lets the
# regex engine skip to the candidates instead of trying the lookbehind at every character.
_FINAL_STARTS = re.compile(f"[{FINALS}](?<![{_HEB_LETTER}].)(?=[{_HEB_LETTER}])")
_FINAL_ENDS = re.compile(f"[{FINALS}](?<=[{_HEB_LETTER}].)(?![{_HEB_LETTER}])")
# An abbreviation mark (׳ ״) inside a word does not end it: "תשפ״ה" is one word.
_PLAIN_ENDS = re.compile(
    f"[{NON_FINALS_WITH_FINAL}](?<=[{_HEB_LETTER}].)(?![{_HEB_LETTER}]|[\u05f3\u05f4\"'][{_HEB_LETTER}])"
)
_HEB_WORDS = re.compile(f"[{_HEB_LETTER}]{{2,}}")


def reversal_score(line: str) -> int:
    """Evidence that a line is stored in visual order: above 0 reversed, below 0 logical."""
    line = _POINTS.sub("", line)
    score = 2 * len(_FINAL_STARTS.findall(line)) - 2 * len(_FINAL_ENDS.findall(line))
    score += len(_PLAIN_ENDS.findall(line))
    for word in _HEB_WORDS.findall(line):
        if word in _COMMON_REVERSED:
            score += 1
        elif word in _COMMON:
            score -= 1
    return score


def _clusters(text: str) -> list[str]:
    """Split into base characters each followed by their combining marks."""
    out: list[str] = []
    for ch in text:
        if out and unicodedata.combining(ch):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _marks_before_letters(line: str) -> bool:
    """True when a plain character-wise reversal left marks in front of their letters."""
    for i, ch in enumerate(line):
        if not unicodedata.combining(ch):
            continue
        j = i - 1
        while j >= 0 and unicodedata.combining(line[j]):
            j -= 1
        if j < 0 or not line[j].isalpha():
            return True
        if ch in "\u05c1\u05c2" and line[j] != "\u05e9":  # shin/sin dots sit on shin only
            return True
    return False


_SIGNS = "%°\u2030#$\u20aa\u20ac"
_SEPARATORS = ",.:/+\\-\u2212"
_NUMBER = f"[{_SIGNS}]*\\d(?:[\\d{_SIGNS}]|[{_SEPARATORS}](?=\\d))*"
_LATIN = f"[^\\W\\d_{_HEB_LETTER}]"
# In a reversed right-to-left line: a Latin run (maybe led by a number painted right after a
# Latin word, as in "CS 101" or "Smith, 2020"), running up to the next Hebrew letter; or a
# number on its own. ("3: Intro" stays apart: there the colon is painted left of the number.)
_LTR_RUN = re.compile(f"(?P<latin>(?:{_NUMBER} *[,;.]?(?={_LATIN}))?{_LATIN}[^{_HEB_LETTER}]*)|(?P<number>{_NUMBER})")
_NUMBER_TAIL = re.compile(f"(?:[\\d{_SIGNS}]|[{_SEPARATORS}](?=\\d))*")
_LATIN_OR_DIGIT = re.compile(f"{_LATIN}|\\d")
_ANY_MARK = re.compile("[\u0300-\u036f\u0591-\u05c7]")


def visual_to_logical(line: str, rtl: bool = True, mirror: bool = True) -> str:
    """Turn one line stored in painting order (left to right) back into logical order.

    For a right-to-left line the whole line is reversed, then Latin runs (words with the
    spaces, punctuation and numbers between them) and numbers are turned back the way the
    Unicode bidi algorithm lays them out, and brackets outside those runs are mirrored.
    For a left-to-right line only the Hebrew runs turn. `mirror=False` leaves brackets alone
    (for text whose extractor mirrored them already).
    """
    if rtl:
        if _ANY_MARK.search(line):
            units = _clusters(line[::-1]) if _marks_before_letters(line) else _clusters(line)[::-1]
            turned = "".join(units)
        else:
            turned = line[::-1]
        out: list[str] = []
        done = 0
        for match in _LTR_RUN.finditer(turned):
            out.append(turned[done:match.start()].translate(_MIRROR) if mirror else turned[done:match.start()])
            run = match.group()
            if match.group("latin") is not None:
                # The run ends at its last Latin letter or digit (and the rest of a number there).
                last = len(run) - 1
                while last > 0 and not _LATIN_OR_DIGIT.match(run[last]):
                    last -= 1
                if run[last].isdigit():
                    tail = _NUMBER_TAIL.match(run, last + 1)
                    last = tail.end() - 1 if tail else last
                out.append(run[:last + 1][::-1])
                rest = run[last + 1:]
                out.append(rest.translate(_MIRROR) if mirror else rest)
            else:
                out.append(run[::-1])
            done = match.end()
        rest = turned[done:]
        out.append(rest.translate(_MIRROR) if mirror else rest)
        return "".join(out)

    # Left-to-right line: reverse each Hebrew run (letters with the spaces inside the run).
    def turn(match: re.Match[str]) -> str:
        return "".join(_clusters(match.group())[::-1])

    return _HEBREW_RUN.sub(turn, line)


_HEBREW_RUN = re.compile(
    f"[{_HEB_LETTER}][{_HEB_LETTER}\u0591-\u05c7 ,.'\"-]*[{_HEB_LETTER}\u0591-\u05c7]|"
    f"[{_HEB_LETTER}][\u0591-\u05c7]*"
)


def line_is_rtl(visual_line: str) -> bool:
    """Right-to-left base direction of a line in painting order.

    The logical first strong letter of a right-to-left line is painted rightmost, so a line
    whose rightmost letter is Hebrew is taken as right-to-left; otherwise the majority decides.
    """
    letters = [ch for ch in visual_line if ch.isalpha()]
    if not letters:
        return False
    if _HEB.match(letters[-1]):
        return True
    hebrew = sum(1 for ch in letters if _HEB.match(ch))
    return hebrew >= len(letters) - hebrew


def _repair_order(lines: list[str]) -> list[str]:
    scores = [reversal_score(line) if has_hebrew(line) else 0 for line in lines]
    overall = sum(scores)
    out = []
    for line, score in zip(lines, scores):
        if score > 0 or (score == 0 and overall > 0 and has_hebrew(line)):
            line = visual_to_logical(line, rtl=line_is_rtl(line))
        out.append(line)
    return out


def _join_hyphenated(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if out and out[-1].endswith("-") and len(out[-1]) > 1 and out[-1][-2].isalpha() and line[:1].isalpha():
            prev = out[-1]
            if prev[-2].isascii() and line[0].islower():
                out[-1] = prev[:-1] + line  # a word broken across lines
            else:
                out[-1] = prev + line  # a real hyphen (Hebrew compounds): keep it, drop the break
            continue
        out.append(line)
    return out


def normalize_display(text: str) -> str:
    """Display text: NFC, logical order, hyphenation across lines mended, whitespace tidied."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = _INVISIBLE.sub("", text)
    # Runs of spaces never hold a line break: tidied in the whole text at once, and only where
    # some run is more than one plain space (most text has none, and a substitution per space
    # costs more than the rest of the tidying).
    if "  " in text or _ODD_SPACE.search(text):
        text = _SPACES.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    lines = _repair_order(lines)
    lines = _join_hyphenated(lines)
    text = unicodedata.normalize("NFC", "\n".join(lines))
    return _MANY_NEWLINES.sub("\n\n", text).strip()


# Search terms -----------------------------------------------------------------------------

_TERM = re.compile(f"[{_HEB_LETTER}]+(?:['\"][{_HEB_LETTER}]+)*|[^\\W_{_HEB_LETTER}]+")
MIN_STEM = 2
MAX_PREFIX = 3


def hebrew_variants(word: str) -> list[str]:
    """The word and the forms left after taking off up to three prefix letters (ו ה ב כ ל מ ש)."""
    variants = [word]
    i = 0
    while i < MAX_PREFIX and len(word) - i > MIN_STEM and word[i] in PREFIX_LETTERS:
        i += 1
        variants.append(word[i:])
    return variants


def search_tokens(search_text: str) -> list[str]:
    """The words of text already in search form (before prefix variants)."""
    return _TERM.findall(search_text)


@functools.lru_cache(maxsize=200_000)
def token_terms(token: str) -> tuple[str, ...]:
    """The index terms of one word: itself and, for Hebrew, its prefix-less forms."""
    if _HEB.match(token):
        if "'" in token or '"' in token:
            token = token.replace("'", "").replace('"', "")
        return tuple(hebrew_variants(token))
    return (token,)


def search_terms(search_text: str) -> list[str]:
    """Index terms of text already in search form; Hebrew words also yield their prefix-less forms."""
    terms: list[str] = []
    for token in _TERM.findall(search_text):
        terms.extend(token_terms(token))
    return terms


def query_terms(query: str) -> list[str]:
    """Distinct search terms of a free-text query."""
    seen: dict[str, None] = {}
    for term in search_terms(search_form(query)):
        seen.setdefault(term, None)
    return list(seen)
