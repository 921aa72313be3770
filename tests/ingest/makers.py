"""Test documents made on the fly: PDFs (Hebrew in visual order too), DOCX, PPTX, photos of text."""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

from fpdf import FPDF
from fpdf.bidi import BidiParagraph
from fpdf.enums import TextDirection

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansHebrew-Regular.ttf",
)
_MIRROR = str.maketrans("()[]{}<>", ")(][}{><")


def hebrew_font() -> str:
    for path in FONT_CANDIDATES:
        if Path(path).is_file():
            return path
    raise RuntimeError("no Hebrew-capable TTF font: apt-get install fonts-dejavu-core")


def painting_order(logical: str, rtl: bool = True) -> str:
    """The line as a right-to-left renderer paints it, left to right (brackets mirrored).

    This is how many real PDFs store Hebrew ("visual order"); it uses fpdf2's own
    implementation of the Unicode bidi algorithm, independent of the code under test.
    """
    direction = TextDirection.RTL if rtl else TextDirection.LTR
    chars = BidiParagraph(logical, base_direction=direction).get_reordered_characters()
    return "".join(c.character.translate(_MIRROR) if c.embedding_level % 2 else c.character for c in chars)


def _pdf() -> FPDF:
    pdf = FPDF()
    pdf.add_font("hebrew", fname=hebrew_font())
    pdf.set_font("hebrew", size=12)
    pdf.set_auto_page_break(False)
    return pdf


def visual_hebrew_pdf(pages: list[list[str]]) -> bytes:
    """A PDF whose lines are stored in painting order, one text run per line, right-aligned."""
    pdf = _pdf()
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.cell(w=0, h=8, text=painting_order(line), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def left_to_right_hebrew_pdf(lines: list[str]) -> bytes:
    """A PDF that stores Hebrew lines in logical order but paints them left to right.

    Position-based extractors (pdfium) read these lines backwards.
    """
    pdf = _pdf()
    pdf.add_page()
    for line in lines:
        pdf.cell(w=0, h=8, text=line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def latin_pdf(pages: list[str]) -> bytes:
    pdf = _pdf()
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(w=0, h=8, text=text)
    return bytes(pdf.output())


def scanned_pdf(lines: list[str]) -> bytes:
    """A PDF page that is only a picture of text (no text layer)."""
    image = text_image(lines)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(buffer.getvalue()), x=10, y=10, w=190)
    return bytes(pdf.output())


def encrypted_pdf(password: str = "secret") -> bytes:
    pdf = _pdf()
    pdf.set_encryption(owner_password=password + "-owner", user_password=password)
    pdf.add_page()
    pdf.cell(text="secret text")
    return bytes(pdf.output())


def text_image(lines: list[str], size: int = 48) -> object:
    """A white image with dark text lines, laid out right to left as a page would show them."""
    from PIL import Image, ImageDraw, ImageFont, features

    # With libraqm Pillow lays out bidi text itself; without it, give it the painting order.
    raqm = features.check("raqm")
    layout = ImageFont.Layout.RAQM if raqm else ImageFont.Layout.BASIC
    font = ImageFont.truetype(hebrew_font(), size, layout_engine=layout)
    width = 1600
    image = Image.new("RGB", (width, 80 + len(lines) * int(size * 1.8)), "white")
    draw = ImageDraw.Draw(image)
    y = 40
    for line in lines:
        shown = line if raqm else painting_order(line)
        box = draw.textbbox((0, 0), shown, font=font)
        draw.text((width - 60 - (box[2] - box[0]), y), shown, fill="black", font=font)
        y += int(size * 1.8)
    return image


def image_bytes(lines: list[str], fmt: str = "PNG") -> bytes:
    image = text_image(lines)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)  # type: ignore[attr-defined]
    return buffer.getvalue()


def blank_image(fmt: str = "PNG") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), "white").save(buffer, format=fmt)
    return buffer.getvalue()


def docx_bytes(
    paragraphs: list[str],
    *,
    table: list[list[str]] | None = None,
    header: str = "",
    footer: str = "",
    page_break_after: int | None = None,
) -> bytes:
    import docx

    document = docx.Document()
    if header:
        document.sections[0].header.paragraphs[0].text = header
    if footer:
        document.sections[0].footer.paragraphs[0].text = footer
    for index, text in enumerate(paragraphs):
        document.add_paragraph(text)
        if page_break_after is not None and index == page_break_after:
            document.add_page_break()
    if table:
        t = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pptx_bytes(slides: list[tuple[str, str, str]], table: list[list[str]] | None = None) -> bytes:
    """Slides of (title, body, speaker notes); an optional table on the last slide."""
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    layout = presentation.slide_layouts[1]
    for title, body, notes in slides:
        slide = presentation.slides.add_slide(layout)
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    if table:
        shape = slide.shapes.add_table(len(table), len(table[0]), Inches(1), Inches(4), Inches(6), Inches(1))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                shape.table.cell(r, c).text = value
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


@functools.lru_cache(maxsize=4)
def zip_bomb_docx(uncompressed_mb: int = 300) -> bytes:
    """A real DOCX with one extra member of zeros that compresses about a thousand times."""
    base = docx_bytes(["שלום"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info, source.read(info.filename))
        with out.open("word/media/padding.bin", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(uncompressed_mb):
                member.write(block)
    return buffer.getvalue()
