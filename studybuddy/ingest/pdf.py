"""PDF: each page's text in logical order (pdflines), scanned pages read by OCR, blank ones skipped."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import messages
from .parsing import ExtractionError, Progress, check_pages, no_progress, run_ocr
from .pdflines import page_text

if TYPE_CHECKING:
    from ..config import IngestConfig

log = logging.getLogger(__name__)

# PDFium is not thread-safe: every call into it goes through this lock (OCR runs outside it).
_PDFIUM = threading.RLock()
MAX_RENDER_PIXELS = 6000
OCR_DPI = 300
# A blank page is told apart cheaply: no page objects at all, or a thumbnail with no ink.
BLANK_PROBE_DPI = 24
INK_LEVEL = 200  # a grey darker than this is ink


def page_is_blank(page: Any) -> bool:
    """True for a page with nothing drawn on it (no objects, or nothing darker than paper)."""
    import pypdfium2.raw as pdfium_c

    if pdfium_c.FPDFPage_CountObjects(page.raw) == 0:
        return True
    thumbnail = page.render(scale=BLANK_PROBE_DPI / 72, grayscale=True).to_pil()
    darkest, _ = thumbnail.getextrema()
    return bool(darkest > INK_LEVEL)


def _render_for_ocr(page: Any) -> Any:
    """The page as a greyscale image at OCR resolution, its longest side capped."""
    width, height = page.get_size()  # in points
    scale = min(OCR_DPI / 72, MAX_RENDER_PIXELS / max(width, height, 1))
    return page.render(scale=scale, grayscale=True).to_pil()


def extract_pdf(data: bytes, cfg: IngestConfig, progress: Progress = no_progress) -> list[str]:
    pages: list[str] = []
    for total, text in pdf_pages(data, cfg):
        pages.append(text)
        progress(len(pages), total)
    return pages


def pdf_pages(data: bytes, cfg: IngestConfig) -> Iterator[tuple[int, str]]:
    """(pages in all, text) of each page in turn, so a reader can start on page 1 at once."""
    import pypdfium2 as pdfium

    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if getattr(exc, "err_code", None) == pdfium.raw.FPDF_ERR_PASSWORD or "password" in str(exc).lower():
                raise ExtractionError(messages.PASSWORD_PDF, str(exc)) from None
            log.info("pdfium cannot open the PDF (%s); trying pypdf", exc)
            document = None
    if document is None:
        fallback = _extract_pdf_with_pypdf(data, cfg, no_progress)
        for text in fallback:
            yield len(fallback), text
        return
    try:
        with _PDFIUM:
            total = len(document)
        check_pages(total, cfg)
        if total == 0:
            raise ExtractionError(messages.CORRUPT_PDF, "no pages")
        for number in range(total):
            image = None
            with _PDFIUM:
                page = document[number]
                try:
                    textpage = page.get_textpage()
                    try:
                        text = page_text(textpage)
                    finally:
                        textpage.close()
                    if not text.strip() and not page_is_blank(page):
                        image = _render_for_ocr(page)  # no text layer: a scanned page
                finally:
                    page.close()
            if image is not None:
                text = run_ocr(image, cfg)
            yield total, text
    finally:
        with _PDFIUM:
            document.close()


def _extract_pdf_with_pypdf(data: bytes, cfg: IngestConfig, progress: Progress) -> list[str]:
    import pypdf
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise ExtractionError(messages.PASSWORD_PDF)
            except (FileNotDecryptedError, NotImplementedError):
                raise ExtractionError(messages.PASSWORD_PDF) from None
        total = len(reader.pages)
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError) as exc:
        raise ExtractionError(messages.CORRUPT_PDF, f"pypdf: {exc}") from None
    if total == 0:
        raise ExtractionError(messages.CORRUPT_PDF, "no pages")
    check_pages(total, cfg)
    pages = []
    for number in range(total):
        try:
            pages.append(reader.pages[number].extract_text() or "")
        except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on damaged files
            raise ExtractionError(messages.CORRUPT_PDF, f"pypdf page {number + 1}: {exc}") from None
        progress(number + 1, total)
    return pages
