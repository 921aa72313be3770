"""Extraction: the raw text of every page or slide of a document, numbered from 1.

Each extractor returns a list of page texts (index 0 is page 1). Bad input raises
ExtractionError with a message for the student; the Hebrew normaliser runs afterwards.
"""

from __future__ import annotations

import ctypes
import io
import logging
import re
import threading
import unicodedata
import zipfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from . import messages
from .hebrew import has_hebrew, line_is_rtl, visual_to_logical
from .ocr import OcrUnavailable, ocr_image
from .textdecode import decode_text

if TYPE_CHECKING:
    from ..config import IngestConfig

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (pages done, pages in all)


class ExtractionError(Exception):
    """The document cannot be read; `user_message` says why in words a student understands."""

    def __init__(self, user_message: str, internal: str = ""):
        super().__init__(internal or user_message)
        self.user_message = user_message
        self.internal = internal or user_message


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


def _no_progress(done: int, total: int) -> None:
    return None


def _check_pages(count: int, cfg: IngestConfig) -> None:
    if count > cfg.max_pages:
        raise ExtractionError(messages.TOO_MANY_PAGES.format(pages=count, limit=cfg.max_pages))


def _ocr(image: object, cfg: IngestConfig) -> str:
    try:
        return ocr_image(image, cfg)  # type: ignore[arg-type]
    except OcrUnavailable as exc:
        raise ExtractionError(messages.OCR_MISSING, str(exc)) from None
    except RuntimeError as exc:  # pytesseract's timeout
        raise ExtractionError(messages.INTERNAL, f"OCR failed: {exc}") from None


# PDF --------------------------------------------------------------------------------------

# pdfium gets right-to-left lines right unless they hold numbers glued to punctuation
# ("1948," "ב-1948"), Latin words next to numbers or brackets, runs of several Latin words, or
# more Latin than Hebrew (measured on generated PDFs); only such lines are rebuilt from the
# glyph positions, which costs a call into pdfium per character.
_LATIN_LETTER = re.compile(r"[^\W\d_\u05d0-\u05ea]")
_LATIN_RUN = re.compile(r"[^\W\d_\u05d0-\u05ea]+(?:[^\w\u05d0-\u05ea]+[^\W\d_\u05d0-\u05ea]+)*")
_HEBREW_LETTER = re.compile(r"[\u05d0-\u05ea]")
_BRACKETS = re.compile(r"[()\[\]{}<>]")
_NUMBER_TOKEN = re.compile(r"\S*\d\S*")
_PLAIN_NUMBER = re.compile(r"\d+(?:[.,:/\-]\d+)*%?")
_DIGIT = re.compile(r"\d")


def _needs_positions(line: str) -> bool:
    if _LATIN_LETTER.search(line):
        if _DIGIT.search(line) or _BRACKETS.search(line):
            return True
        runs = _LATIN_RUN.findall(line)
        if any(not run.isalpha() for run in runs):
            return True  # several Latin words in a row
        return sum(map(len, runs)) >= len(_HEBREW_LETTER.findall(line))
    if not _DIGIT.search(line):
        return False
    return any(not _PLAIN_NUMBER.fullmatch(token) for token in _NUMBER_TOKEN.findall(line))


def _line_from_positions(textpage: object, start: int, line: str) -> str | None:
    """A line rebuilt from the glyph positions (painting order), then put in logical order.

    pdfium turns right-to-left lines around itself, but splits Latin words from the numbers
    beside them and misplaces signs such as "%"; the glyph boxes give the painting order back.
    Spaces without a box of their own (pdfium adds some) sit between their neighbours.
    """
    import pypdfium2.raw as pdfium_c

    get_box = pdfium_c.FPDFText_GetCharBox
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    handle = textpage.raw  # type: ignore[attr-defined]
    has_marks = _MARK.search(line) is not None
    centres: list[float | None] = []
    texts: list[str] = []
    for offset, char in enumerate(line):
        if has_marks and texts and unicodedata.combining(char):
            texts[-1] += char  # marks travel with their letter
            continue
        if get_box(handle, start + offset, left, right, bottom, top) and right.value > left.value:
            centres.append((left.value + right.value) / 2)
        elif char == " ":
            centres.append(None)
        else:
            return None
        texts.append(char)
    if all(c is None for c in centres):
        return None
    for i, centre in enumerate(centres):
        if centre is None:
            before = next((c for c in reversed(centres[:i]) if c is not None), None)
            after = next((c for c in centres[i + 1:] if c is not None), None)
            pair = [c for c in (before, after) if c is not None]
            centres[i] = sum(pair) / len(pair)
    order = sorted(range(len(texts)), key=centres.__getitem__)  # type: ignore[arg-type]
    visual = _MANY_SPACES.sub(" ", "".join(texts[i] for i in order)).strip()
    # pdfium has already mirrored the brackets of right-to-left runs (not always both of a pair).
    return _balance_brackets(visual_to_logical(visual, rtl=line_is_rtl(visual), mirror=False))


def _balance_brackets(line: str) -> str:
    """Pairs of brackets put back as opener and closer where one of the pair came out wrong."""
    for opener, closer in ("()", "[]", "{}"):
        opened, closed = line.count(opener), line.count(closer)
        if (opened + closed) % 2 or not opened + closed:
            continue
        first = min(i for i in (line.find(opener), line.find(closer)) if i >= 0)
        if opened == closed and line[first] == opener:
            continue
        chars = list(line)
        nth = 0
        for i, ch in enumerate(chars):
            if ch in (opener, closer):
                chars[i] = opener if nth % 2 == 0 else closer
                nth += 1
        line = "".join(chars)
    return line


_MARK = re.compile("[\u0300-\u036f\u0591-\u05c7]")
_MANY_SPACES = re.compile(" {2,}")


def _pdf_page_text(page: object) -> str:
    textpage = page.get_textpage()  # type: ignore[attr-defined]
    try:
        text: str = textpage.get_text_range()
        count = textpage.count_chars()
        if not has_hebrew(text) or len(text) != count:
            return text
        lines: list[str] = []
        position = 0
        for line in text.split("\r\n"):
            end = position + len(line)
            if has_hebrew(line) and _needs_positions(line):
                rebuilt = _line_from_positions(textpage, position, line)
                lines.append(rebuilt if rebuilt is not None else line)
            else:
                lines.append(line)
            position = end + 2
        return "\n".join(lines)
    finally:
        textpage.close()


# PDFium is not thread-safe: every call into it goes through this lock (OCR runs outside it).
_PDFIUM = threading.RLock()
MAX_RENDER_PIXELS = 6000
OCR_DPI = 300


def _render_for_ocr(page: Any) -> Any:
    """The page as a greyscale image at OCR resolution, its longest side capped."""
    width, height = page.get_size()  # in points
    scale = min(OCR_DPI / 72, MAX_RENDER_PIXELS / max(width, height, 1))
    return page.render(scale=scale, grayscale=True).to_pil()


def extract_pdf(data: bytes, cfg: IngestConfig, progress: Progress = _no_progress) -> list[str]:
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
        return _extract_pdf_with_pypdf(data, cfg, progress)
    try:
        with _PDFIUM:
            total = len(document)
        _check_pages(total, cfg)
        if total == 0:
            raise ExtractionError(messages.CORRUPT_PDF, "no pages")
        pages: list[str] = []
        for number in range(total):
            image = None
            with _PDFIUM:
                page = document[number]
                try:
                    text = _pdf_page_text(page)
                    if not text.strip():
                        image = _render_for_ocr(page)  # no text layer: a scanned page
                finally:
                    page.close()
            if image is not None:
                text = _ocr(image, cfg)
            pages.append(text)
            progress(number + 1, total)
        return pages
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
    _check_pages(total, cfg)
    pages = []
    for number in range(total):
        try:
            pages.append(reader.pages[number].extract_text() or "")
        except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on damaged files
            raise ExtractionError(messages.CORRUPT_PDF, f"pypdf page {number + 1}: {exc}") from None
        progress(number + 1, total)
    return pages


# DOCX -------------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _paragraph_texts(element: ElementTree.Element) -> list[str]:
    """Paragraph texts inside an XML part, tabs and line breaks kept."""
    out = []
    for paragraph in element.iter(f"{_W}p"):
        parts = []
        for node in paragraph.iter():
            if node.tag == f"{_W}t" and node.text:
                parts.append(node.text)
            elif node.tag == f"{_W}tab":
                parts.append("\t")
            elif node.tag in (f"{_W}br", f"{_W}cr"):
                parts.append("\n")
        text = "".join(parts).strip()
        if text:
            out.append(text)
    return out


def _docx_body_pages(body: ElementTree.Element) -> list[list[str]]:
    """Body text split into pages at page breaks (explicit ones and those Word last rendered)."""
    pages: list[list[str]] = [[]]
    for block in body:
        if block.tag == f"{_W}p":
            parts: list[str] = []
            for node in block.iter():
                if node.tag == f"{_W}lastRenderedPageBreak" or (
                    node.tag == f"{_W}br" and node.get(f"{_W}type") == "page"
                ):
                    if parts and "".join(parts).strip():
                        pages[-1].append("".join(parts).strip())
                    parts = []
                    if pages[-1]:
                        pages.append([])
                elif node.tag == f"{_W}t" and node.text:
                    parts.append(node.text)
                elif node.tag == f"{_W}tab":
                    parts.append("\t")
                elif node.tag in (f"{_W}br", f"{_W}cr"):
                    parts.append("\n")
            text = "".join(parts).strip()
            if text:
                pages[-1].append(text)
        elif block.tag == f"{_W}tbl":
            for row in block.iter(f"{_W}tr"):
                cells = [" ".join(_paragraph_texts(cell)) for cell in row.iter(f"{_W}tc")]
                line = " | ".join(cell for cell in cells if cell)
                if line:
                    pages[-1].append(line)
    return [page for page in pages if page] or [[]]


def extract_docx(data: bytes, cfg: IngestConfig, progress: Progress = _no_progress) -> list[str]:
    check_zip_safe(data, cfg.max_uncompressed_mb, cfg.max_compression_ratio, "Word")
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
        body = ElementTree.fromstring(
            ElementTree.tostring(document.element.body)  # type: ignore[arg-type]
        )
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, ElementTree.ParseError) as exc:
        raise ExtractionError(messages.CORRUPT_OFFICE.format(kind="Word"), str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - lxml and python-docx raise many kinds
        raise ExtractionError(messages.CORRUPT_OFFICE.format(kind="Word"), repr(exc)) from None
    pages = ["\n".join(page) for page in _docx_body_pages(body)]
    _check_pages(len(pages), cfg)
    # Headers, footers and footnotes have no page of their own: they go with the last page.
    extra: list[str] = []
    seen: set[str] = set()
    for section in document.sections:
        for part in (section.header, section.footer):
            if part.is_linked_to_previous:
                continue
            for paragraph in part.paragraphs:
                text = paragraph.text.strip()
                if text and text not in seen:
                    seen.add(text)
                    extra.append(text)
            for table in part.tables:
                for row in table.rows:
                    line = " | ".join(cell.text.strip() for cell in row.cells if cell.text.strip())
                    if line and line not in seen:
                        seen.add(line)
                        extra.append(line)
    extra.extend(_docx_notes(document))
    if extra:
        pages[-1] = (pages[-1] + "\n\n" + "\n".join(extra)).strip()
    progress(len(pages), len(pages))
    return pages


def _docx_notes(document: object) -> list[str]:
    """Footnote and endnote texts, read from their parts (python-docx has no API for them)."""
    out: list[str] = []
    part = document.part  # type: ignore[attr-defined]
    for rel in part.rels.values():
        if rel.is_external or not rel.reltype.endswith(("/footnotes", "/endnotes")):
            continue
        try:
            root = ElementTree.fromstring(rel.target_part.blob)
        except ElementTree.ParseError:
            continue
        for note in list(root):
            if note.get(f"{_W}type") in ("separator", "continuationSeparator", "continuationNotice"):
                continue
            text = " ".join(_paragraph_texts(note)).strip()
            if text:
                out.append(text)
    return out


# PPTX -------------------------------------------------------------------------------------


def _shape_texts(shapes: object) -> list[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    out: list[str] = []
    for shape in shapes:  # type: ignore[attr-defined]
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            out.extend(_shape_texts(shape.shapes))
            continue
        if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            text = "\n".join(p.text for p in shape.text_frame.paragraphs).strip()
            if text:
                out.append(text)
        if getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                line = " | ".join(cell.text.strip() for cell in row.cells if cell.text.strip())
                if line:
                    out.append(line)
    return out


def extract_pptx(data: bytes, cfg: IngestConfig, progress: Progress = _no_progress) -> list[str]:
    check_zip_safe(data, cfg.max_uncompressed_mb, cfg.max_compression_ratio, "PowerPoint")
    import pptx
    from pptx.exc import PackageNotFoundError

    try:
        presentation = pptx.Presentation(io.BytesIO(data))
        slides = list(presentation.slides)
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ExtractionError(messages.CORRUPT_OFFICE.format(kind="PowerPoint"), str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - lxml and python-pptx raise many kinds
        raise ExtractionError(messages.CORRUPT_OFFICE.format(kind="PowerPoint"), repr(exc)) from None
    _check_pages(len(slides), cfg)
    pages = []
    for number, slide in enumerate(slides, start=1):
        parts = _shape_texts(slide.shapes)
        if slide.has_notes_slide:
            notes = (slide.notes_slide.notes_text_frame.text if slide.notes_slide.notes_text_frame else "")
            if notes.strip():
                parts.append(notes.strip())
        pages.append("\n".join(parts))
        progress(number, len(slides))
    return pages


# HTML, text, images -----------------------------------------------------------------------

_BLOCK_TAGS = ["p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "br", "section", "article",
               "table", "ul", "ol", "pre", "blockquote", "header", "footer", "td", "th", "dd", "dt", "hr",
               "main", "nav", "aside", "figure", "figcaption", "caption", "title"]


def extract_html(data: bytes, cfg: IngestConfig, progress: Progress = _no_progress) -> list[str]:
    from bs4 import BeautifulSoup

    try:
        text = decode_text(data)
    except ValueError as exc:
        raise ExtractionError(messages.TEXT_UNDECODABLE, str(exc)) from None
    soup = BeautifulSoup(text, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "svg", "iframe", "object", "head"]):
        tag.decompose()
    # Block elements end lines; inline ones (b, a, span...) flow within the line.
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    body = soup.get_text("")
    pages = [((title + "\n") if title and title not in body else "") + body]
    progress(1, 1)
    return pages


def extract_plain_text(data: bytes, cfg: IngestConfig, progress: Progress = _no_progress) -> list[str]:
    try:
        text = decode_text(data)
    except ValueError as exc:
        raise ExtractionError(messages.TEXT_UNDECODABLE, str(exc)) from None
    # A form feed separates pages in text exported from other tools.
    pages = text.split("\f") if "\f" in text else [text]
    _check_pages(len(pages), cfg)
    progress(len(pages), len(pages))
    return pages


def extract_image(data: bytes, cfg: IngestConfig, progress: Progress = _no_progress) -> list[str]:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ExtractionError(messages.IMAGE_UNREADABLE, str(exc)) from None
    text = _ocr(image, cfg)
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


def extract_pages(kind: str, data: bytes, cfg: IngestConfig, progress: Progress = _no_progress) -> list[str]:
    """The raw text of every page or slide of a document of this kind."""
    try:
        extractor = EXTRACTORS[kind]
    except KeyError:
        raise ExtractionError(messages.UNSUPPORTED_TYPE, f"no extractor for {kind!r}") from None
    if not data:
        raise ExtractionError(messages.EMPTY_FILE)
    return extractor(data, cfg, progress)
