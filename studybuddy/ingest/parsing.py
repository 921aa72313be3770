"""What every format's extractor shares: its error, progress callback, page and archive guards, OCR."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import messages
from .ocr import OcrUnavailable, ocr_image

if TYPE_CHECKING:
    from ..config import IngestConfig

Progress = Callable[[int, int], None]  # (pages done, pages in all)


class ExtractionError(Exception):
    """The document cannot be read; `user_message` says why in words a student understands."""

    def __init__(self, user_message: str, internal: str = ""):
        super().__init__(internal or user_message)
        self.user_message = user_message
        self.internal = internal or user_message


def no_progress(done: int, total: int) -> None:
    return None


def check_pages(count: int, cfg: IngestConfig) -> None:
    if count > cfg.max_pages:
        raise ExtractionError(messages.TOO_MANY_PAGES.format(pages=count, limit=cfg.max_pages))


def check_zip_safe(data: bytes, max_uncompressed_mb: int, max_ratio: int, what: str) -> None:
    """Refuse archives that unpack to too much data or compress suspiciously well."""
    limit = max_uncompressed_mb * 1024 * 1024
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ExtractionError(messages.CORRUPT_OFFICE.format(kind=what), str(exc)) from None
    if len(infos) > 10000:
        raise ExtractionError(messages.ZIP_BOMB, f"{len(infos)} archive members")
    total = sum(info.file_size for info in infos)
    if total > limit:
        raise ExtractionError(messages.ZIP_BOMB, f"unpacks to {total} bytes")
    for info in infos:
        if info.file_size > 1024 * 1024 and info.file_size > max_ratio * max(info.compress_size, 1):
            raise ExtractionError(
                messages.ZIP_BOMB,
                f"{info.filename}: ratio {info.file_size / max(info.compress_size, 1):.0f}",
            )


def run_ocr(image: object, cfg: IngestConfig) -> str:
    try:
        return ocr_image(image, cfg)  # type: ignore[arg-type]
    except OcrUnavailable as exc:
        raise ExtractionError(messages.OCR_MISSING, str(exc)) from None
    except RuntimeError as exc:  # pytesseract's timeout
        raise ExtractionError(messages.INTERNAL, f"OCR failed: {exc}") from None


def guard_image_pixels(cfg: IngestConfig) -> None:
    """Pillow's decompression-bomb guard set from our own limit (it errs at twice the limit)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = cfg.max_image_pixels


def check_image_size(width: int, height: int, cfg: IngestConfig) -> None:
    """Refuse an image before it is decoded when it has more pixels than the limit."""
    if width * height > cfg.max_image_pixels:
        raise ExtractionError(
            messages.IMAGE_TOO_LARGE.format(megapixels=cfg.max_image_pixels // 1_000_000),
            f"{width}x{height} pixels",
        )
