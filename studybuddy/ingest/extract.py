"""Extraction: the raw text of every page or slide of a document, numbered from 1.

Each extractor returns a list of page texts (index 0 is page 1). Bad input raises
ExtractionError with a message for the student; the Hebrew normaliser runs afterwards.
The formats live in their own modules (pdf, office, htmltext); extract_pages runs them in
this process, and sandbox.extract_pages_isolated runs them in a bounded child process.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import messages
from .htmltext import extract_html
from .office import extract_docx, extract_pptx
from .parsing import (
    ExtractionError,
    Progress,
    check_image_size,
    check_zip_safe,
    guard_image_pixels,
    no_progress,
    run_ocr,
)
from .pdf import extract_pdf
from .textdecode import decode_text

if TYPE_CHECKING:
    from ..config import IngestConfig

__all__ = ["EXTRACTORS", "ExtractionError", "Progress", "check_zip_safe", "extract_pages", "extract_pdf"]


def extract_plain_text(data: bytes, cfg: IngestConfig, progress: Progress = no_progress) -> list[str]:
    from .parsing import check_pages

    try:
        text = decode_text(data)
    except ValueError as exc:
        raise ExtractionError(messages.TEXT_UNDECODABLE, str(exc)) from None
    # A form feed separates pages in text exported from other tools.
    pages = text.split("\f") if "\f" in text else [text]
    check_pages(len(pages), cfg)
    progress(len(pages), len(pages))
    return pages


def extract_image(data: bytes, cfg: IngestConfig, progress: Progress = no_progress) -> list[str]:
    from PIL import Image, UnidentifiedImageError

    guard_image_pixels(cfg)
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
        check_image_size(image.width, image.height, cfg)
        image.load()
    except ExtractionError:
        raise
    except Image.DecompressionBombError as exc:
        raise ExtractionError(
            messages.IMAGE_TOO_LARGE.format(megapixels=cfg.max_image_pixels // 1_000_000), str(exc)
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ExtractionError(messages.IMAGE_UNREADABLE, str(exc)) from None
    text = run_ocr(image, cfg)
    progress(1, 1)
    return [text]


EXTRACTORS: dict[str, Callable[[bytes, IngestConfig, Progress], list[str]]] = {
    "pdf": extract_pdf,
    "docx": extract_docx,
    "pptx": extract_pptx,
    "html": extract_html,
    "txt": extract_plain_text,
    "md": extract_plain_text,
    "png": extract_image,
    "jpeg": extract_image,
    "webp": extract_image,
}


def extract_pages(kind: str, data: bytes, cfg: IngestConfig, progress: Progress = no_progress) -> list[str]:
    """The raw text of every page or slide of a document of this kind (in this process)."""
    try:
        extractor = EXTRACTORS[kind]
    except KeyError:
        raise ExtractionError(messages.UNSUPPORTED_TYPE, f"no extractor for {kind!r}") from None
    if not data:
        raise ExtractionError(messages.EMPTY_FILE)
    return extractor(data, cfg, progress)
