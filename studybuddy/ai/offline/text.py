"""Plain-text analysis for Hebrew and English course material: sentences, keywords, definitions.

Used by the offline provider, by retrieval (the bilingual lexicon) and by the study tools
(glossary search). Everything here is deterministic and needs no network.

Page text marks structure with a small convention: a heading line starts with `# `, `## ` or
`### `, a list item with `- `, and table cells are joined by ` | `.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

# Hebrew points and cantillation; the maqaf (U+05BE) and other punctuation in the block are kept.
_NIKUD = re.compile("[\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]")
_FINALS = str.maketrans({"ך": "כ", "ם": "מ", "ן": "נ", "ף": "פ", "ץ": "צ"})
_WORD = re.compile(r"[^\W_]+(?:['\u05f3\u05f4\"][^\W_]+)*", re.UNICODE)
_HEBREW = re.compile("[\u05d0-\u05ea]")
# Letters are counted by runs: a list of whole words is far shorter than one of letters.
_HEBREW_RUN = re.compile("[\u05d0-\u05ea]+")
_LATIN_RUN = re.compile("[A-Za-z]+")
# Sentence ends: . ! ? ׃ followed by space/end, not inside numbers like 3.14 or initials like "e.g."
_SENTENCE_END = re.compile(r"(?<=[.!?\u05c3])[\"'”’)\]]*\s+")
HEBREW_PREFIXES = "והבלמשכ"

_EN_STOP = (
    """a an the and or but if then else of in on at to for from by with without about into onto over
    under between through during before after above below up down out off again further once here there
    when where why how all any both each few more most other some such no nor not only own same so than
    too very can will just should now is are was were be been being have has had having do does did
    doing this that these those it its it's they them their theirs we us our you your he him his she
    her i me my which who whom whose what also may might must shall would could one two three many
    much as per via e.g i.e etc use used using called known like often usually within while because
    therefore thus however although"""
)
STOPWORDS_EN = frozenset(_EN_STOP.split())
_HE_STOP = (
    """של את על עם אל מן מן כי אם או גם אך רק לא כן זה זו זאת אלה אלו הוא היא הם הן אני אתה את אנחנו
    אתם אתן יש אין היה היתה היו הייתה להיות כל כמו יותר פחות מאוד אשר כאשר לכן אבל בין לפני אחרי תחת
    מעל בו בה בהם בהן לו לה להם להן שלו שלה שלהם שלהן עוד כך כדי מה מי איך למה מתי איפה הזה הזו
    הזאת האלה האלו אותו אותה אותם אותן עד ללא בלי הינו הינה הנה וכן וגם כגון למשל מכיוון משום
    ידי על־ידי ע"י אחד אחת שני שתי שלוש נוספים ניתן ניתנת צריך יכול יכולה יכולים"""
)
STOPWORDS_HE = frozenset(_HE_STOP.split())
_PRONOUN_STARTS = frozenset(
    {"it", "this", "that", "these", "those", "there", "they", "he", "she", "we", "you", "i", "which",
     "what", "who", "here", "such", "one", "each", "all", "some", "many", "most", "our", "its", "their",
     "his", "her", "my", "your", "if", "when", "while", "because", "so", "but", "and", "or", "also",
     "זה", "זו", "זאת", "הוא", "היא", "הם", "הן", "אנחנו", "יש", "אין", "כאשר", "אם", "כי", "לכן",
     "אבל", "גם", "כל", "מה", "מי", "זהו", "זוהי", "הדבר", "כך", "ולכן", "אך", "בנוסף", "למשל",
     "יחד", "ביחד", "שם", "כאן", "אז", "עכשיו", "היום", "עדיין", "תמיד", "לפעמים", "together", "then", "now",
     "today", "always", "sometimes", "still"}
)

_NOT_TERMS = frozenset(
    {"note", "example", "for example", "answer", "question", "solution", "remember", "summary", "hint",
     "step", "see", "figure", "table", "page", "chapter", "exercise", "tip", "warning",
     "הערה", "דוגמה", "דוגמא", "לדוגמה", "תשובה", "שאלה", "פתרון", "זכרו", "סיכום", "רמז", "שלב", "ראו",
     "איור", "טבלה", "עמוד", "פרק", "תרגיל", "טיפ", "נוסחה", "נוסחא", "formula", "שאלות", "questions"}
)
_TERM = r"(?P<term>[^\W\d_][\w\-\"'׳״’ ]{1,58}?)"
# "עודף הצרכן (Consumer surplus)": the term named again in the other language, in brackets.
_ALT = r"(?:\s*\((?P<alt>[^()]{2,60})\))?"
_DEF_EN = re.compile(
    r"^(?:(?:an?|the)\s+)?" + _TERM + _ALT + r"\s+"
    r"(?:is|are|means|refers to|is defined as|is called|describes|denotes)\s+(?P<def>.{8,})$",
    re.IGNORECASE | re.UNICODE,
)
_DEF_HE = re.compile(
    r"^" + _TERM + _ALT + r"\s+"
    r"(?:הוא|היא|הם|הן|הינו|הינה|הינם|פירושו|פירושה|מוגדר\s+כ|מוגדרת\s+כ|נקרא|נקראת|מתאר|מתארת)\s*"
    r"(?P<def>.{8,})$",
    re.UNICODE,
)
_DEF_SEP = re.compile(r"^" + _TERM + _ALT + r"\s*(?::|\s[–—-]\s)\s*(?P<def>.{8,})$")
# A Hebrew phrase followed by its English name in brackets, anywhere in a sentence. The bracket is
# found first and the phrase is read back from it: scanning for the phrase would retry every word.
_PAIR_WORD = r"[\u05d0-\u05ea\"'׳״]+(?:[\-־][\u05d0-\u05ea]+)?"
_PAIR_EN = re.compile(r"\((?P<en>[A-Za-z][A-Za-z\-’' ]{1,48}[A-Za-z])\)")
_PAIR_HE = re.compile(r"(?<![\u05d0-\u05ea\"'׳״])(?P<he>(?:" + _PAIR_WORD + r" ){0,3}" + _PAIR_WORD + r") ?$")
_PAIR_REACH = 200  # characters before the bracket that can hold the (at most four-word) phrase
_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
_MARKUP = re.compile(r"^\s*(?:#{1,3}|-)\s+|\s\|\s", re.MULTILINE)


def is_hebrew(text: str) -> bool:
    """True when the text has more Hebrew letters than Latin ones."""
    hebrew = sum(map(len, _HEBREW_RUN.findall(text)))
    latin = sum(map(len, _LATIN_RUN.findall(text)))
    return hebrew > latin


def normalize(text: str) -> str:
    """Lower case, nikud removed, Hebrew final letters folded: the form words are compared in."""
    return _NIKUD.sub("", text).lower().translate(_FINALS)


def words(text: str) -> list[str]:
    """The words of a text in comparison form."""
    return _WORD.findall(normalize(text))


def raw_words(text: str) -> list[str]:
    """The words of a text as spelled there (nikud kept)."""
    return _WORD.findall(text)


def is_stopword(word: str) -> bool:
    return word in STOPWORDS_EN or word in STOPWORDS_HE or len(word) < 2 or word.isdigit()


@lru_cache(maxsize=65536)
def word_forms(word: str) -> frozenset[str]:
    """A word and, for Hebrew, the word without up to two prefix letters (ו, ה, ב, ל, מ, ש, כ)."""
    forms = {word}
    if _HEBREW.match(word):
        stem = word
        for _ in range(2):
            if len(stem) >= 4 and stem[0] in HEBREW_PREFIXES:
                stem = stem[1:]
                forms.add(stem)
            else:
                break
    elif len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
    return frozenset(forms)


@lru_cache(maxsize=65536)
def carries_meaning(word: str) -> bool:
    """Not a stop word (nor a stop word behind a Hebrew prefix letter)."""
    return not is_stopword(word) and not any(is_stopword(f) for f in word_forms(word) - {word})


def content_words(text: str) -> list[str]:
    """Words that carry meaning (stop words and single letters dropped)."""
    return [w for w in words(text) if carries_meaning(w)]


def keys(text: str) -> set[str]:
    """Every comparison form of every content word of a text."""
    return keys_of(words(text))


def keys_of(found: Iterable[str]) -> set[str]:
    """Every comparison form of the content words among words already in comparison form."""
    out: set[str] = set()
    for word in found:
        if carries_meaning(word):
            out |= word_forms(word)
    return out


_BULLET = re.compile(r"^\s*(?:[-•*·▪●◦]|\d{1,3}[.)]|[א-ת][.)])\s+")
_LINE_END = re.compile(r"[.!?:;\u05c3]['\"”’)\]]*$")


def heading(line: str) -> tuple[int, str] | None:
    """(level, text) of a `# `/`## `/`### ` heading line, else None."""
    if not line.lstrip().startswith("#"):
        return None
    match = _HEADING.match(line.strip())
    return (len(match.group(1)), match.group(2).strip()) if match else None


def strip_markup(text: str) -> str:
    """Text without the structure markers (heading hashes, list dashes, table bars)."""
    return _MARKUP.sub(lambda m: " " if "|" in m.group(0) else "", text)


def _lines_to_paragraphs(text: str) -> list[str]:
    """Undo hard line wrapping (PDF text): a line joins the next one unless it ends a sentence,
    is short (a heading), is blank, or the next line starts a list item. Headings and table
    rows always stand alone (headings keep their `#` marker)."""
    paragraphs: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or heading(line) or " | " in line:
            if current:
                paragraphs.append(current)
            current = ""
            if line:
                paragraphs.append(line)
            continue
        if current and _BULLET.match(line):
            paragraphs.append(current)
            current = ""
        current = f"{current} {line}" if current else line
        if _LINE_END.search(line) or len(line.split()) < 6:
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return paragraphs


def split_sentences(text: str) -> list[str]:
    """Sentences of a text. Wrapped lines are joined first; headings and list items stand alone;
    a heading comes back without its `#` marker (use `split_structured` to know which are)."""
    return [sentence for _, sentence in split_structured(text)]


def split_structured(text: str) -> list[tuple[int, str]]:
    """(heading level, text) for headings and (0, sentence) for every other sentence, in order."""
    out: list[tuple[int, str]] = []
    for paragraph in _lines_to_paragraphs(text):
        found = heading(paragraph)
        if found:
            out.append(found)
            continue
        paragraph = _BULLET.sub("", paragraph).strip().replace(" | ", "; ")
        for part in _SENTENCE_END.split(paragraph):
            part = part.strip()
            if part:
                out.append((0, part))
    return out


def bilingual_pairs(text: str) -> list[tuple[str, str]]:
    """(Hebrew term, English term) pairs written as "עודף הצרכן (Consumer surplus)"."""
    out: list[tuple[str, str]] = []
    for bracket in _PAIR_EN.finditer(text):
        # The phrase holds no line break, so the search starts on the bracket's line: fewer
        # places to try (the pattern's own `$` may still match before a break just ahead of it).
        reach = max(0, bracket.start() - _PAIR_REACH)
        line = text.rfind("\n", reach, max(reach, bracket.start() - 1)) + 1
        match = _PAIR_HE.search(text, max(reach, line), bracket.start())
        if match is None:
            continue
        hebrew_words = match.group("he").split()
        english = bracket.group("en").strip()
        # keep the words before the bracket that name the term: drop leading stop words and
        # words a definition sentence starts with ("ה", "של", "נקרא" ...)
        while hebrew_words and (_function_word(normalize(hebrew_words[0]))
                                or normalize(hebrew_words[0]) in _PAIR_CUT):
            hebrew_words.pop(0)
        cut = max((i for i, w in enumerate(hebrew_words) if normalize(w) in _PAIR_CUT), default=-1)
        hebrew_words = hebrew_words[cut + 1:]
        if hebrew_words and len(english) >= 3:
            out.append((" ".join(hebrew_words), english))
    return out


def _function_word(word: str) -> bool:
    """A stop word, also behind one prefix letter ("ומה", "מהם")."""
    return is_stopword(word) or (len(word) >= 3 and word[0] in HEBREW_PREFIXES and is_stopword(word[1:]))


_PAIR_CUT = frozenset({"נקרא", "נקראת", "נקראים", "המכונה", "המכונים", "מכונה", "או", "גם", "כמו", "לכך", "זה",
                       "זו", "הנקרא", "הנקראת", "מושג", "המושג", "את", "של", "על", "עם", "ואת", "בין", "לבין",
                       "הוא", "היא", "הם", "כלומר"})


def similarity(a: str, b: str) -> float:
    """Fuzzy similarity of two words or phrases (0..1) in comparison form."""
    return SequenceMatcher(None, normalize(a), normalize(b)).ratio()


@dataclass(frozen=True)
class Definition:
    term: str
    definition: str
    sentence: str
    alt: str = ""  # the term in the other language, when the material names it in brackets


def _clean_term(term: str) -> str:
    return term.strip(" \"'׳״()[]").strip()


def find_definition(sentence: str) -> Definition | None:
    """Recognise "X is Y", "X (Y) הוא/היא/הם Z", "X: Y" and "X – Y" sentences."""
    text = sentence.strip()
    if len(text) > 400:
        return None
    for pattern in (_DEF_SEP, _DEF_HE, _DEF_EN):
        match = pattern.match(text)
        if not match:
            continue
        term = _clean_term(match.group("term"))
        definition = match.group("def").strip().rstrip(".").strip()
        term_words = words(term)
        if not term_words or len(term_words) > 5 or len(term) < 2:
            continue
        if term_words[0] in _PRONOUN_STARTS or is_stopword(term_words[0]) or is_stopword(term_words[-1]):
            continue  # "On windy days transpiration is faster": a clause, not a term
        if any(w in _CLAUSE_WORDS for w in term_words) or any(ch.isdigit() for ch in term):
            continue  # "המחיר עולה כאשר": a clause; "Step 2": a label
        if " ".join(term_words) in _NOT_TERMS or word_forms(term_words[0]) & _NOT_TERMS:
            continue  # "הדוגמה המוכרת לביקוש קשיח היא …": an example, not a term
        if len(words(definition)) < 2:
            continue
        alt = _clean_term(match.group("alt") or "")
        return Definition(term=term, definition=definition, sentence=text, alt=alt)
    return None


# Words that make a would-be term a clause (verbs and conjunctions a term does not hold).
_CLAUSE_WORDS = frozenset(
    {"כאשר", "אם", "כי", "אז", "לכן", "עולה", "יורד", "יורדת", "עולים", "גדל", "קטן", "היה", "היתה", "יש", "אין",
     "when", "if", "then", "because", "was", "were", "has", "have", "had", "will", "can", "do", "does", "did"}
)


def term_weights(texts: Iterable[str]) -> dict[str, float]:
    """TF-IDF-like weight of each content word over a set of passages."""
    return weights_of(words(text) for text in texts)


def weights_of(passages: Iterable[list[str]]) -> dict[str, float]:
    """term_weights for passages already split into words in comparison form."""
    tf: Counter[str] = Counter()
    df: Counter[str] = Counter()
    count = 0
    for passage in passages:
        count += 1
        found = [w for w in passage if carries_meaning(w)]
        tf.update(found)
        df.update(set(found))
    if not count:
        return {}
    return {w: (1 + math.log(n)) * math.log(1 + count / df[w]) for w, n in tf.items()}


def key_terms(texts: list[str], limit: int = 50) -> list[str]:
    """The most characteristic words of the material, in their original spelling, best first."""
    weights = term_weights(texts)
    ranked = sorted(
        (w for w in weights if len(w) >= 4 and not w.isdigit()), key=lambda w: (-weights[w], w)
    )[:limit]
    wanted = set(ranked)
    spelled: dict[str, str] = {}
    for text in texts:
        for raw in _WORD.findall(text):
            word = normalize(raw)
            if word in wanted and word not in spelled:
                spelled[word] = _NIKUD.sub("", raw)
        if len(spelled) == len(wanted):
            break
    return [spelled.get(w, w) for w in ranked]


def contains_phrase(haystack: str, needle: str) -> bool:
    """True when every word of `needle` appears in order, as a run, in `haystack`."""
    hay = " ".join(words(haystack))
    need = " ".join(words(needle))
    return bool(need) and f" {need} " in f" {hay} "
