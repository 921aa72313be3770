"""The extraction corpus: the same Hebrew/English course notes made into PDFs by real generators.

Ground truth is the source text, line by line. Each generator lays the text out its own way:

- fpdf2-visual:  fpdf2 without shaping, every line given in painting order (as older PDF
                 producers store Hebrew: "visual order");
- fpdf2-shaped:  fpdf2 with HarfBuzz shaping (uharfbuzz) and its bidi algorithm;
- writer:        LibreOffice Writer (headless) exporting a right-to-left DOCX;
- chromium:      Chromium printing a right-to-left HTML page to PDF;
- impress:       LibreOffice Impress (headless) exporting a right-to-left PPTX.

Files are made once and cached under .cache/corpus/<hash of this file>/, so the suite stays
quick and a change here makes them again. `python -m tests.ingest.corpus` makes them all.
"""

from __future__ import annotations

import hashlib
import html
import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import makers

HEADING, ITEM, PARA = "heading", "item", "para"


@dataclass(frozen=True)
class Line:
    text: str
    kind: str = PARA

    @property
    def pointed(self) -> bool:
        """Written with nikud (vowel points)."""
        return any("\u0591" <= ch <= "\u05c7" and ch not in "\u05be\u05c0\u05c3\u05c6" for ch in self.text)

    @property
    def expected(self) -> str:
        """The line as extracted from a PDF: bullets become list items, headings plain lines."""
        return f"- {self.text}" if self.kind == ITEM else self.text


HEBREW_PAGE = [
    Line("פרק 2: ביקוש והיצע", HEADING),
    Line("חוק הביקוש (Law of Demand) קובע כי המחיר משפיע."),
    Line("Qd = 100 − 2P"),
    Line("המחיר ירד מ־100 ל־80 שקלים."),
    Line("הגמישות בנקודה זו היא Ed = −1.22 בקירוב."),
    Line("בשנת 1948, הוקמה מדינת ישראל."),
    Line("לפי המחקר (Smith, 2020) הביקוש קשיח."),
    Line("בתהליך נוצרות מולקולות ATP ו-NADPH (1)"),
    Line("הטווח הוא 10–100 יחידות, כלומר 25% מהשוק."),
    Line("הריבית עלתה ל-3.5% בשנת 2023."),
    Line("התקציב הוא 1,250,000 ש״ח לשנה."),
    Line("הספר Principles of Economics מאת Mankiw."),
    Line("ראו [1] ו-(2) בהערות."),
    Line("מושגי יסוד", HEADING),
    Line("ביקוש: הכמות שהצרכנים רוצים לקנות.", ITEM),
    Line("היצע: הכמות שהיצרנים מוכנים למכור.", ITEM),
    Line("שיווי משקל ב-P = 16 ו-Q = 68.", ITEM),
    Line("הנוסחה F = ma נלמדה בשיעור 3.", ITEM),
    Line("המשוואה E = mc² מפורסמת."),
    Line("שעה 10:30 בבוקר, חדר 2.14."),
    Line("1. הגדרה: תא הוא יחידת החיים."),
    Line("קורס CS 101 מבוא למדעי המחשב."),
    Line("DNA הוא החומר התורשתי בתא."),
    Line("כיתה ב׳ תשפ״ה, שנת 2024."),
    Line("שָׁלוֹם עֲלֵיכֶם, כיתה ב׳ 2024."),
    Line("בְּרֵאשִׁית בָּרָא (Genesis 1:1)"),
    Line("הציון הממוצע: 87.5 מתוך 100 (ראו טבלה 4)."),
]

ENGLISH_PAGE = [
    Line("Chapter 3: Elasticity", HEADING),
    Line("The price elasticity of demand is Ed = −1.22 (inelastic)."),
    Line("Qd = 100 − 2P and Qs = 20 + 3P give P = 16."),
    Line("See Smith, 2020, pp. 10–15 [3]."),
    Line("The Hebrew word שלום means peace."),
    Line("Growth was 4.5% in 2023, up from 3.1%.", ITEM),
    Line("Cells make ATP and NADPH (see note 1).", ITEM),
]

PAGES: list[list[Line]] = [HEBREW_PAGE, ENGLISH_PAGE]
RTL_PAGES = (True, False)


# fpdf2's shaped output maps the glyphs HarfBuzz makes for pointed letters to the wrong
# characters in its text layer ("Z", "^"; pypdf reads the same), so it is given no nikud.
NO_NIKUD = frozenset({"fpdf2-shaped"})


def pages_for(generator: str) -> list[list[Line]]:
    """The lines one generator is given (its ground truth)."""
    if generator in NO_NIKUD:
        return [[line for line in page if not line.pointed] for page in PAGES]
    return PAGES


def expected_pages(generator: str = "") -> list[list[str]]:
    """Ground truth of a generator: one list of lines per page."""
    return [[line.expected for line in page] for page in pages_for(generator)]


# fpdf2 ------------------------------------------------------------------------------------

def _fpdf_lines(shaped: bool) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("hebrew", fname=makers.hebrew_font())
    pdf.set_font("hebrew", size=12)
    pdf.set_auto_page_break(False)
    if shaped:
        pdf.set_text_shaping(True)
    for page, rtl in zip(pages_for("fpdf2-shaped" if shaped else "fpdf2-visual"), RTL_PAGES):
        pdf.add_page()
        for line in page:
            text = f"• {line.text}" if line.kind == ITEM else line.text
            if not shaped:
                text = makers.painting_order(text, rtl)
            pdf.set_font_size(16 if line.kind == HEADING else 12)
            pdf.cell(w=0, h=8.5, text=text, align="R" if rtl else "L", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def fpdf2_visual() -> bytes:
    return _fpdf_lines(shaped=False)


def fpdf2_shaped() -> bytes:
    return _fpdf_lines(shaped=True)


# LibreOffice ------------------------------------------------------------------------------

def _soffice(source: bytes, suffix: str) -> bytes:
    """`source` converted to PDF by LibreOffice, headless, with a profile of its own."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise RuntimeError("LibreOffice is missing: apt-get install libreoffice-writer-nogui")
    with tempfile.TemporaryDirectory(prefix="studybuddy-corpus-") as tmp:
        src = Path(tmp) / f"corpus{suffix}"
        src.write_bytes(source)
        subprocess.run(
            [soffice, f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--norestore",
             "--convert-to", "pdf", "--outdir", tmp, str(src)],
            check=True, capture_output=True, timeout=180,
        )
        return (Path(tmp) / "corpus.pdf").read_bytes()


def _rtl_paragraph(paragraph: object, rtl: bool) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    if not rtl:
        return
    ppr = paragraph._p.get_or_add_pPr()  # type: ignore[attr-defined]
    bidi = OxmlElement("w:bidi")
    ppr.insert(0, bidi)
    for run in paragraph.runs:  # type: ignore[attr-defined]
        rpr = run._r.get_or_add_rPr()
        rpr.append(OxmlElement("w:rtl"))
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = OxmlElement("w:rFonts")
            rpr.insert(0, fonts)
        for attr in ("w:ascii", "w:hAnsi", "w:cs"):
            fonts.set(qn(attr), "DejaVu Sans")


def writer_docx() -> bytes:
    """The DOCX the Writer PDF is made from (real headings, a bulleted list)."""
    import docx
    from docx.enum.text import WD_BREAK
    from docx.shared import Cm, Pt

    document = docx.Document()
    section = document.sections[0]
    section.top_margin = section.bottom_margin = Cm(1.5)
    document.styles["Normal"].font.size = Pt(11)
    document.styles["Normal"].paragraph_format.space_after = Pt(2)
    for number, (page, rtl) in enumerate(zip(PAGES, RTL_PAGES)):
        for index, line in enumerate(page):
            style = {HEADING: "Heading 1", ITEM: "List Bullet", PARA: None}[line.kind]
            paragraph = document.add_paragraph(line.text, style=style)
            _rtl_paragraph(paragraph, rtl)
            if number < len(PAGES) - 1 and index == len(page) - 1:
                paragraph.add_run().add_break(WD_BREAK.PAGE)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def writer() -> bytes:
    return _soffice(writer_docx(), ".docx")


def impress_pptx() -> bytes:
    """A PPTX with one slide per page: the lines as paragraphs of one text box."""
    from pptx import Presentation
    from pptx.util import Emu, Pt

    presentation = Presentation()
    presentation.slide_width, presentation.slide_height = Emu(7772400), Emu(10058400)  # portrait
    for page, rtl in zip(PAGES, RTL_PAGES):
        slide = presentation.slides.add_slide(presentation.slide_layouts[6])  # blank
        box = slide.shapes.add_textbox(Emu(300000), Emu(300000), Emu(7172400), Emu(9400000))
        frame = box.text_frame
        frame.word_wrap = True
        for index, line in enumerate(page):
            paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
            run = paragraph.add_run()
            run.text = f"• {line.text}" if line.kind == ITEM else line.text
            run.font.size = Pt(20 if line.kind == HEADING else 15)
            run.font.name = "DejaVu Sans"
            if rtl:
                paragraph._p.get_or_add_pPr().set("rtl", "1")
                paragraph._p.get_or_add_pPr().set("algn", "r")
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


def impress() -> bytes:
    return _soffice(impress_pptx(), ".pptx")


# Chromium ---------------------------------------------------------------------------------

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")


def chromium_html() -> str:
    parts = ["<!doctype html><html lang='he'><head><meta charset='utf-8'><title>corpus</title><style>"
             "body{font-family:'DejaVu Sans';font-size:12pt;margin:0}"
             "p,h1,li{margin:0 0 4pt 0;white-space:nowrap} h1{font-size:16pt}"
             "ul{margin:0;list-style-type:'• ';padding-inline-start:14pt}"
             ".page{break-after:page} @page{size:A4;margin:15mm}</style></head><body>"]
    for page, rtl in zip(PAGES, RTL_PAGES):
        parts.append(f"<div class='page' dir='{'rtl' if rtl else 'ltr'}'>")
        in_list = False
        for line in page:
            if line.kind == ITEM and not in_list:
                parts.append("<ul>")
                in_list = True
            elif line.kind != ITEM and in_list:
                parts.append("</ul>")
                in_list = False
            tag = {HEADING: "h1", ITEM: "li", PARA: "p"}[line.kind]
            parts.append(f"<{tag}>{html.escape(line.text)}</{tag}>")
        if in_list:
            parts.append("</ul>")
        parts.append("</div>")
    parts.append("</body></html>")
    return "".join(parts)


def chromium() -> bytes:
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory(prefix="studybuddy-corpus-") as tmp:
        page = Path(tmp) / "corpus.html"
        page.write_text(chromium_html(), encoding="utf-8")
        out = Path(tmp) / "corpus.pdf"
        subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/profile", "--no-pdf-header-footer",
             f"--print-to-pdf={out}", page.as_uri()],
            check=True, capture_output=True, timeout=180,
        )
        return out.read_bytes()


GENERATORS: dict[str, Callable[[], bytes]] = {
    "fpdf2-visual": fpdf2_visual,
    "fpdf2-shaped": fpdf2_shaped,
    "writer": writer,
    "chromium": chromium,
    "impress": impress,
}


def cache_dir() -> Path:
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    root = Path(os.environ.get("STUDYBUDDY_CORPUS_CACHE", Path(__file__).resolve().parents[2] / ".cache" / "corpus"))
    return root / digest


def corpus_pdf(generator: str) -> bytes:
    """The corpus made by one generator (cached)."""
    path = cache_dir() / f"{generator}.pdf"
    if not path.is_file():
        data = GENERATORS[generator]()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(data)
        partial.replace(path)
    return path.read_bytes()


if __name__ == "__main__":
    for name in GENERATORS:
        print(name, len(corpus_pdf(name)), "bytes", cache_dir() / f"{name}.pdf")
