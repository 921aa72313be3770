"""Ingest test helpers: OCR tests run whenever Tesseract is there, and must run in CI."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import skip_or_fail_in_ci


def _ocr_problem() -> str:
    if shutil.which("tesseract") is None:
        return "Tesseract is not installed"
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=False)
    if "heb" not in (langs.stdout + langs.stderr).split():
        return "Tesseract has no Hebrew language data"
    return ""


@pytest.fixture
def ocr() -> None:
    """Tesseract with Hebrew: skipped loudly without it, but a failure when CI=true."""
    problem = _ocr_problem()
    if problem:
        skip_or_fail_in_ci(f"{problem}: apt-get install tesseract-ocr tesseract-ocr-heb")
