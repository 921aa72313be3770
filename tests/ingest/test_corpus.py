"""Exact text from PDFs made by real generators: every line of every page, Hebrew and English."""

from __future__ import annotations

import os
import shutil
import unicodedata

import pytest

from studybuddy.config import Config
from studybuddy.ingest.pipeline import process_bytes
from studybuddy.store.models import Document

from . import corpus

# The lines the issue found damaged, as written.
MIXED = [
    "חוק הביקוש (Law of Demand) קובע כי המחיר משפיע.",
    "Qd = 100 − 2P",
    "המחיר ירד מ־100 ל־80 שקלים.",
    "הגמישות בנקודה זו היא Ed = −1.22 בקירוב.",
    "בשנת 1948, הוקמה מדינת ישראל.",
    "לפי המחקר (Smith, 2020) הביקוש קשיח.",
    "בתהליך נוצרות מולקולות ATP ו-NADPH (1)",
]
NEEDS = {"writer": "soffice", "impress": "soffice", "chromium": "chromium"}


def _generator_problem(name: str) -> str:
    program = NEEDS.get(name)
    if program and shutil.which(program) is None:
        return f"{program} is not installed (apt-get install libreoffice-writer-nogui " \
               "libreoffice-impress-nogui chromium)"
    return ""


@pytest.fixture(scope="session", params=sorted(corpus.GENERATORS))
def generated(request: pytest.FixtureRequest) -> tuple[str, bytes]:
    name = request.param
    problem = _generator_problem(name)
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem} (CI=true: the corpus must be built)")
        pytest.skip(problem)
    return name, corpus.corpus_pdf(name)


def _pages(cfg: Config, data: bytes) -> list[list[str]]:
    document = Document(id="d1", course_id="c1", owner_id="u1", display_name="corpus.pdf", kind="pdf")
    pages, _ = process_bytes(document, data, cfg)
    return [page.text.split("\n") for page in pages]


def _nfc(lines: list[str]) -> list[str]:
    return [unicodedata.normalize("NFC", line) for line in lines]


def test_every_line_of_every_page_is_exact(cfg: Config, generated: tuple[str, bytes]) -> None:
    name, data = generated
    got = _pages(cfg, data)
    expected = corpus.expected_pages(name)
    assert len(got) == len(expected), name
    for number, (page, want) in enumerate(zip(got, expected), start=1):
        assert page == _nfc(want), f"{name} page {number}"


def test_the_mixed_lines_from_the_issue_come_out_as_written(cfg: Config, generated: tuple[str, bytes]) -> None:
    name, data = generated
    hebrew_page = _pages(cfg, data)[0]
    for line in MIXED:
        assert line in hebrew_page, f"{name}: {line!r} not in {hebrew_page!r}"


def test_bullets_become_list_items(cfg: Config, generated: tuple[str, bytes]) -> None:
    _, data = generated
    english = _pages(cfg, data)[1]
    assert "- Growth was 4.5% in 2023, up from 3.1%." in english
