"""A deterministic stand-in for a multilingual embedding model, served by the fake OpenAI and
Gemini servers (tests/ai/fakes.py) and used by bench/quality.py.

What it is, honestly: a bag of concepts hashed into DIMENSIONS numbers. A text's words are
folded (lower case, nikud and Hebrew prefix letters removed, English plural s dropped); a word
listed in bench/data/embedding_dictionary.tsv (a fixed Hebrew–English word list of the subject
areas of our evaluation courses, written by hand, one "hebrew<TAB>english" pair a line) becomes
its English form, so "צרכן" and "consumer" are the same concept; every other word stands for
itself. Each concept adds its weight to a dimension chosen by CRC-32 of the concept (and a sign
from a second hash), stop words are left out, and the vector is scaled to length 1.

It knows no meaning beyond that list: it cannot match synonyms or paraphrases the list lacks, so
figures measured with it show what the retrieval pipeline does with cross-language vectors, not
how good any real model is.
"""

from __future__ import annotations

import math
import zlib
from functools import lru_cache
from pathlib import Path

from studybuddy.ai.offline import text as tk

DIMENSIONS = 256
DICTIONARY = Path(__file__).resolve().parents[2] / "bench" / "data" / "embedding_dictionary.tsv"


@lru_cache(maxsize=1)
def _dictionary() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in DICTIONARY.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        hebrew, english = (part.strip() for part in line.split("\t"))
        for word in tk.words(english):
            out.setdefault(_fold(word), _fold(word))
        for h, e in zip(tk.words(hebrew), tk.words(english)) if len(tk.words(hebrew)) == len(tk.words(english)) \
                else [(" ".join(tk.words(hebrew)), " ".join(tk.words(english)))]:
            out[_fold(h)] = _fold(e) if " " not in e else e
    return out


def _fold(word: str) -> str:
    forms = sorted(tk.word_forms(word), key=len)
    return forms[0]


def concepts(text: str) -> list[str]:
    table = _dictionary()
    out: list[str] = []
    for word in tk.words(tk.strip_markup(text)):
        if not tk.carries_meaning(word):
            continue
        found = next((table[f] for f in sorted(tk.word_forms(word), key=len, reverse=True) if f in table), None)
        out.append(found or _fold(word))
    return out


def embed_text(text: str) -> list[float]:
    vector = [0.0] * DIMENSIONS
    for concept in concepts(text):
        digest = zlib.crc32(concept.encode("utf-8"))
        sign = 1.0 if zlib.adler32(concept.encode("utf-8")) % 2 else -1.0
        vector[digest % DIMENSIONS] += sign
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]
