"""Optical character recognition with Tesseract (through pytesseract), Hebrew and English."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from typing import TYPE_CHECKING

from . import messages

if TYPE_CHECKING:
    from PIL.Image import Image

    from ..config import IngestConfig

log = logging.getLogger(__name__)


class OcrUnavailable(Exception):
    """Tesseract or one of the configured languages is not installed."""


def available_languages(tesseract_cmd: str) -> set[str]:
    """The languages the installed Tesseract knows; OcrUnavailable if there is no Tesseract."""
    if shutil.which(tesseract_cmd) is None:
        raise OcrUnavailable(f"{tesseract_cmd} not found")
    try:
        done = subprocess.run(
            [tesseract_cmd, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OcrUnavailable(f"{tesseract_cmd} --list-langs: {exc}") from None
    lines = (done.stdout + "\n" + done.stderr).splitlines()
    return {line.strip() for line in lines if line.strip() and " " not in line.strip()}


_verified: set[tuple[str, str]] = set()


def check_ocr(cfg: IngestConfig) -> None:
    """Raise OcrUnavailable unless Tesseract and every language in `ocr_languages` are there."""
    key = (cfg.tesseract_cmd, cfg.ocr_languages)
    if key in _verified and shutil.which(cfg.tesseract_cmd) is not None:
        return
    have = available_languages(cfg.tesseract_cmd)
    missing = [lang for lang in cfg.ocr_languages.split("+") if lang and lang not in have]
    if missing:
        raise OcrUnavailable(f"missing Tesseract language data: {', '.join(missing)}")
    _verified.add(key)


def ocr_image(image: Image, cfg: IngestConfig) -> str:
    """The text Tesseract reads in `image` (logical order, as Tesseract writes it)."""
    import pytesseract

    check_ocr(cfg)
    # Tesseract's OpenMP threads spin against each other on a busy host (measured here: a page
    # took 3-4 times longer); one thread per page is faster. An explicit setting wins.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    pytesseract.pytesseract.tesseract_cmd = cfg.tesseract_cmd
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    try:
        return str(
            pytesseract.image_to_string(
                image, lang=cfg.ocr_languages, config="--psm 3", timeout=cfg.ocr_timeout_seconds
            )
        )
    except pytesseract.TesseractNotFoundError:
        raise OcrUnavailable(messages.OCR_MISSING) from None
