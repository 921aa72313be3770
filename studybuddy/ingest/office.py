"""Word (DOCX) and PowerPoint (PPTX): text page by page, headings, list items and table rows kept.

Structure follows the page-text convention: "# ", "## ", "### " start headings, "- " a list
item, and a table row is its cells joined by " | ".
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from . import messages
from .parsing import ExtractionError, Progress, check_pages, check_zip_safe, no_progress

if TYPE_CHECKING:
    from ..config import IngestConfig

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_NAME = re.compile(r"^(?:heading|כותרת)\s*(\d)$")
_LIST_NAME = re.compile(r"^list (?:bullet|number|paragraph)")
MAX_HEADING_LEVEL = 3


def heading(text: str, level: int) -> str:
    return "#" * max(1, min(level, MAX_HEADING_LEVEL)) + " " + text


def _node_text(node: ElementTree.Element) -> str:
    """The text one node of a paragraph adds: its characters, a tab or a line break."""
    if node.tag == f"{_W}t":
        return node.text or ""
    if node.tag == f"{_W}tab":
        return "\t"
    if node.tag in (f"{_W}br", f"{_W}cr"):
        return "\n"
    return ""


def _paragraph_texts(element: ElementTree.Element) -> list[str]:
    """Paragraph texts inside an XML part, tabs and line breaks kept."""
    out = []
    for paragraph in element.iter(f"{_W}p"):
        text = "".join(_node_text(node) for node in paragraph.iter()).strip()
        if text:
            out.append(text)
    return out


class _DocxStyles:
    """Which paragraph styles are headings (and their level) or list items."""

    def __init__(self, document: Any):
        self.levels: dict[str, int] = {}
        self.lists: set[str] = set()
        for style in document.styles:
            style_id = style.style_id
            name = (style.name or "").strip().lower()
            if name == "title":
                self.levels[style_id] = 1
                continue
            match = _HEADING_NAME.match(name)
            outline = style.element.find(f"{_W}pPr/{_W}outlineLvl")
            if match:
                self.levels[style_id] = int(match.group(1))
            elif outline is not None and (outline.get(f"{_W}val") or "").isdigit():
                level = int(outline.get(f"{_W}val") or 0) + 1
                if level <= 9:
                    self.levels[style_id] = level
            elif _LIST_NAME.match(name):
                self.lists.add(style_id)

    def mark(self, paragraph: ElementTree.Element, text: str) -> str:
        style = paragraph.find(f"{_W}pPr/{_W}pStyle")
        style_id = style.get(f"{_W}val") if style is not None else None
        outline = paragraph.find(f"{_W}pPr/{_W}outlineLvl")
        if outline is not None and (outline.get(f"{_W}val") or "").isdigit() and int(outline.get(f"{_W}val") or 9) < 9:
            return heading(text, int(outline.get(f"{_W}val") or 0) + 1)
        if style_id in self.levels:
            return heading(text, self.levels[style_id])
        if paragraph.find(f"{_W}pPr/{_W}numPr") is not None or style_id in self.lists:
            return "- " + text
        return text


def _docx_body_pages(body: ElementTree.Element, styles: _DocxStyles) -> list[list[str]]:
    """Body text split into pages at page breaks (explicit ones and those Word last rendered)."""
    pages: list[list[str]] = [[]]
    for block in body:
        if block.tag == f"{_W}p":
            parts: list[str] = []
            first = True  # only the paragraph's first piece carries its heading or bullet

            def close(parts: list[str], first: bool, block: ElementTree.Element = block) -> bool:
                text = "".join(parts).strip()
                if text:
                    pages[-1].append(styles.mark(block, text) if first else text)
                    return False
                return first

            for node in block.iter():
                if node.tag == f"{_W}lastRenderedPageBreak" or (
                    node.tag == f"{_W}br" and node.get(f"{_W}type") == "page"
                ):
                    first = close(parts, first)
                    parts = []
                    if pages[-1]:
                        pages.append([])
                else:
                    parts.append(_node_text(node))
            close(parts, first)
        elif block.tag == f"{_W}tbl":
            for row in block.iter(f"{_W}tr"):
                cells = [" ".join(_paragraph_texts(cell)) for cell in row.iter(f"{_W}tc")]
                line = " | ".join(cell for cell in cells if cell)
                if line:
                    pages[-1].append(line)
    return [page for page in pages if page] or [[]]


def extract_docx(data: bytes, cfg: IngestConfig, progress: Progress = no_progress) -> list[str]:
    check_zip_safe(data, cfg.max_uncompressed_mb, cfg.max_compression_ratio, "Word")
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
        body = ElementTree.fromstring(
            ElementTree.tostring(document.element.body)  # type: ignore[arg-type]
        )
        styles = _DocxStyles(document)
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, ElementTree.ParseError) as exc:
        raise ExtractionError(messages.CORRUPT_OFFICE.format(kind="Word"), str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - lxml and python-docx raise many kinds
        raise ExtractionError(messages.CORRUPT_OFFICE.format(kind="Word"), repr(exc)) from None
    pages = ["\n".join(page) for page in _docx_body_pages(body, styles)]
    check_pages(len(pages), cfg)
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

_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"


def _is_title(shape: Any) -> bool:
    from pptx.enum.shapes import PP_PLACEHOLDER

    if not getattr(shape, "is_placeholder", False):
        return False
    return shape.placeholder_format.type in (PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE)


def _is_body(shape: Any) -> bool:
    from pptx.enum.shapes import PP_PLACEHOLDER

    if not getattr(shape, "is_placeholder", False):
        return False
    return shape.placeholder_format.type in (PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT)


def _bulleted(paragraph: Any, in_body: bool) -> bool:
    """Body placeholders are bulleted unless a paragraph says otherwise; text boxes only when told."""
    ppr = paragraph._p.find(f"{_A}pPr")
    if ppr is not None:
        if ppr.find(f"{_A}buNone") is not None:
            return False
        if ppr.find(f"{_A}buChar") is not None or ppr.find(f"{_A}buAutoNum") is not None:
            return True
    return in_body


def _shape_texts(shapes: object) -> list[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    out: list[str] = []
    for shape in shapes:  # type: ignore[attr-defined]
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            out.extend(_shape_texts(shape.shapes))
            continue
        if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            title, body = _is_title(shape), _is_body(shape)
            for paragraph in shape.text_frame.paragraphs:
                text = paragraph.text.strip()
                if not text:
                    continue
                if title:
                    out.append(heading(text, 1))
                elif _bulleted(paragraph, body):
                    out.append("- " + text)
                else:
                    out.append(text)
        if getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                line = " | ".join(cell.text.strip() for cell in row.cells if cell.text.strip())
                if line:
                    out.append(line)
    return out


def extract_pptx(data: bytes, cfg: IngestConfig, progress: Progress = no_progress) -> list[str]:
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
    check_pages(len(slides), cfg)
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
