"""Extraction of every format, page by page, with the exact Hebrew text in logical order."""

from __future__ import annotations

import pytest

from studybuddy.config import Config
from studybuddy.ingest import messages
from studybuddy.ingest.detect import Rejected, detect_kind
from studybuddy.ingest.extract import ExtractionError, extract_pages
from studybuddy.ingest.pipeline import process_bytes
from studybuddy.store.models import Document

from . import makers

L1 = "שלום עולם, זהו קורס 2024 של CS 101 מבוא (חלק א) ומחירו 50%."
L2 = "בשנת 1948 הוקמה מדינת ישראל."
L3 = "פרק 3: Introduction to Algorithms, עמוד 12-15"

needs_ocr = pytest.mark.usefixtures("ocr")


def _doc(kind: str) -> Document:
    return Document(id="d1", course_id="c1", owner_id="u1", display_name=f"x.{kind}", kind=kind)


def ingest(cfg: Config, name: str, data: bytes) -> list[str]:
    """Detected kind, extracted and normalised page texts."""
    kind = detect_kind(data, name).kind
    pages, chunks = process_bytes(_doc(kind), data, cfg)
    assert chunks, "no chunks"
    assert {c.page for c in chunks} <= {p.number for p in pages}
    return [p.text for p in pages]


def test_visual_order_pdf_comes_out_logical_with_page_numbers(cfg: Config) -> None:
    data = makers.visual_hebrew_pdf([[L1, L2], [L3]])
    assert ingest(cfg, "heb.pdf", data) == [f"{L1}\n{L2}", L3]


MIXED = [
    "קורס Introduction to Algorithms מעולה",
    "ראה סעיף 1 2 3 בהמשך",
    "עמוד 12-15 בספר, המחיר 3.14 שקל",
    "בשנת 1948, הוקמה",
    "יש 50% הנחה",
    "הנוסחה E=mc2 ידועה",
    "ב-1948 הוקמה",
    "שעה 10:30 בבוקר, מספר 1,000 ספרים",
    "ראו [1] ו-(2)",
    'המילה "שלום" היא ברכה',
    "החומר (DNA) בגרעין",
    "ראו (Smith, 2020) וגם [RNA]",
    "שני Latin words כאן",
    "ראו Smith et al. במאמר",
    "תאים DNA ו-RNA בגרעין",
    "הגרעין מכיל DNA.",
]


def test_visual_order_pdf_with_latin_numbers_and_punctuation(cfg: Config) -> None:
    assert ingest(cfg, "mixed.pdf", makers.visual_hebrew_pdf([MIXED])) == ["\n".join(MIXED)]


def test_reversed_stream_pdf_is_repaired(cfg: Config) -> None:
    """Lines stored in logical order but painted left to right come out of pdfium backwards."""
    lines = ["הספרים נמצאים בארון הגדול", "הפוטוסינתזה מתרחשת בעלים של הצמח"]
    import pypdfium2 as pdfium

    data = makers.left_to_right_hebrew_pdf(lines)
    raw = pdfium.PdfDocument(data)[0].get_textpage().get_text_range()
    assert lines[0] not in raw  # the raw extraction really is backwards
    assert ingest(cfg, "rev.pdf", data) == ["\n".join(lines)]


def test_latin_pdf_pages(cfg: Config) -> None:
    data = makers.latin_pdf(["First page about cells.", "Second page about photosynthesis."])
    assert ingest(cfg, "en.pdf", data) == ["First page about cells.", "Second page about photosynthesis."]


def test_docx_paragraphs_tables_headers_footers_and_page_breaks(cfg: Config) -> None:
    data = makers.docx_bytes(
        ["פסקה ראשונה על התא", "פסקה שנייה על הגרעין"],
        table=[["מונח", "הגדרה"], ["תא", "יחידת החיים"]],
        header="כותרת עליונה",
        footer="עמוד תחתון",
        page_break_after=0,
    )
    pages = ingest(cfg, "notes.docx", data)
    assert pages[0] == "פסקה ראשונה על התא"
    assert pages[1].split("\n") == [
        "פסקה שנייה על הגרעין", "מונח | הגדרה", "תא | יחידת החיים", "", "כותרת עליונה", "עמוד תחתון",
    ]


def test_docx_footnotes(cfg: Config) -> None:
    """python-docx writes no footnotes, so one is added to the package by hand."""
    import io
    import zipfile

    base = makers.docx_bytes(["גוף הטקסט"])
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    footnotes = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes {w}>'
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:t>---</w:t></w:r></w:p></w:footnote>'
        '<w:footnote w:id="1"><w:p><w:r><w:t>הערת שוליים חשובה</w:t></w:r></w:p></w:footnote></w:footnotes>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "word/_rels/document.xml.rels":
                body = body.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdFoot" Type="http://schemas.openxmlformats.org/officeDocument/'
                    b'2006/relationships/footnotes" Target="footnotes.xml"/></Relationships>',
                )
            if info.filename == "[Content_Types].xml":
                body = body.replace(
                    b"</Types>",
                    b'<Override PartName="/word/footnotes.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/></Types>',
                )
            dst.writestr(info, body)
        dst.writestr("word/footnotes.xml", footnotes)
    assert ingest(cfg, "fn.docx", out.getvalue()) == ["גוף הטקסט\n\nהערת שוליים חשובה"]


def test_pptx_slides_tables_and_speaker_notes(cfg: Config) -> None:
    data = makers.pptx_bytes(
        [("מבוא לביולוגיה", "התא הוא יחידת החיים", "להזכיר את המעבדה"), ("שקף שני", "מיטוזה", "")],
        table=[["שלב", "תיאור"]],
    )
    assert ingest(cfg, "slides.pptx", data) == [
        "# מבוא לביולוגיה\n- התא הוא יחידת החיים\nלהזכיר את המעבדה",
        "# שקף שני\n- מיטוזה\nשלב | תיאור",
    ]


def test_html_drops_scripts_and_styles(cfg: Config) -> None:
    html = (
        "<!doctype html><html><head><title>סיכום</title><style>p{color:red}</style></head>"
        "<body><script>alert('x')</script><h1>כותרת</h1><p>פסקה <b>מודגשת</b> כאן</p>"
        "<noscript>אין</noscript></body></html>"
    )
    assert ingest(cfg, "page.html", html.encode()) == ["סיכום\n\n# כותרת\n\nפסקה מודגשת כאן"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1255"])
def test_text_encodings(cfg: Config, encoding: str) -> None:
    text = "שיעור ראשון: מבוא לכלכלה\nהיצע וביקוש קובעים מחיר."
    assert ingest(cfg, "notes.txt", text.encode(encoding)) == [text]


def test_markdown_keeps_its_kind(cfg: Config) -> None:
    assert detect_kind(b"# Title\n\nSome *text*", "readme.md").kind == "md"
    assert detect_kind(b"# Title\n\nSome *text*", "readme.txt").kind == "txt"


@needs_ocr
@pytest.mark.parametrize("fmt,kind", [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp")])
def test_photo_of_a_page_is_read_by_ocr(cfg: Config, fmt: str, kind: str) -> None:
    data = makers.image_bytes(["שלום עולם", "מבוא למדעי המחשב"], fmt)
    assert detect_kind(data, "photo").kind == kind
    (page,) = ingest(cfg, "photo", data)
    assert [line for line in page.split("\n") if line] == ["שלום עולם", "מבוא למדעי המחשב"]


@needs_ocr
def test_scanned_pdf_page_is_rendered_and_read(cfg: Config) -> None:
    data = makers.scanned_pdf(["הפוטוסינתזה מתרחשת בעלים", "Photosynthesis 2024"])
    (page,) = ingest(cfg, "scan.pdf", data)
    assert [line for line in page.split("\n") if line] == ["הפוטוסינתזה מתרחשת בעלים", "Photosynthesis 2024"]


# Bad input ------------------------------------------------------------------------------------


def _fails(cfg: Config, kind: str, data: bytes) -> str:
    with pytest.raises(ExtractionError) as caught:
        process_bytes(_doc(kind), data, cfg)
    return caught.value.user_message


def test_corrupt_pdf(cfg: Config) -> None:
    assert _fails(cfg, "pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage") == messages.CORRUPT_PDF
    truncated = makers.latin_pdf(["text"])[:200]
    assert _fails(cfg, "pdf", truncated) == messages.CORRUPT_PDF


def test_password_protected_pdf(cfg: Config) -> None:
    assert _fails(cfg, "pdf", makers.encrypted_pdf()) == messages.PASSWORD_PDF


def test_zip_bomb_docx(cfg: Config) -> None:
    assert _fails(cfg, "docx", makers.zip_bomb_docx(300)) == messages.ZIP_BOMB


def test_compression_ratio_limit(cfg: Config) -> None:
    small = cfg.replace(ingest={"max_uncompressed_mb": 1000, "max_compression_ratio": 50})
    assert _fails(small, "docx", makers.zip_bomb_docx(20)) == messages.ZIP_BOMB


def test_corrupt_docx_and_pptx(cfg: Config) -> None:
    data = makers.docx_bytes(["x"])
    broken = data[:len(data) // 2]
    assert _fails(cfg, "docx", broken) == messages.CORRUPT_OFFICE.format(kind="Word")
    assert _fails(cfg, "pptx", makers.docx_bytes(["x"])) == messages.CORRUPT_OFFICE.format(kind="PowerPoint")


def test_too_many_pages(cfg: Config) -> None:
    limited = cfg.replace(ingest={"max_pages": 2})
    data = makers.latin_pdf(["one", "two", "three"])
    assert _fails(limited, "pdf", data) == messages.TOO_MANY_PAGES.format(pages=3, limit=2)
    slides = makers.pptx_bytes([("a", "b", ""), ("c", "d", ""), ("e", "f", "")])
    assert _fails(limited, "pptx", slides) == messages.TOO_MANY_PAGES.format(pages=3, limit=2)


@needs_ocr
def test_image_without_text(cfg: Config) -> None:
    assert _fails(cfg, "png", makers.blank_image()) == messages.NO_TEXT


def test_pdf_without_any_text_and_whitespace_text(cfg: Config) -> None:
    assert _fails(cfg, "txt", b"   \n\n  ") == messages.NO_TEXT


def test_unreadable_image(cfg: Config) -> None:
    assert _fails(cfg, "png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40) == messages.IMAGE_UNREADABLE


def test_missing_tesseract_fails_with_the_ocr_message(cfg: Config) -> None:
    no_ocr = cfg.replace(ingest={"tesseract_cmd": "/nonexistent/tesseract"})
    assert _fails(no_ocr, "png", makers.image_bytes(["שלום"])) == messages.OCR_MISSING
    # Text PDFs do not need OCR and still work.
    assert process_bytes(_doc("pdf"), makers.latin_pdf(["fine"]), no_ocr)[0][0].text == "fine"


@needs_ocr
def test_missing_hebrew_language_data_fails_with_the_ocr_message(cfg: Config) -> None:
    no_heb = cfg.replace(ingest={"ocr_languages": "heb+xyz"})
    assert _fails(no_heb, "png", makers.image_bytes(["שלום"])) == messages.OCR_MISSING
    assert _fails(no_heb, "pdf", makers.scanned_pdf(["שלום"])) == messages.OCR_MISSING


@pytest.mark.parametrize(
    "data,name,expected",
    [
        (b"", "empty.pdf", messages.EMPTY_FILE),
        (b"\x7fELF\x02\x01\x01" + b"\0" * 100, "program.pdf", messages.EXTENSION_MISMATCH.format(name="program.pdf")),
        (b"\x7fELF\x02\x01\x01" + b"\0" * 100, "program", messages.UNSUPPORTED_TYPE),
        (b"GIF89a" + b"\0" * 100, "anim.gif", messages.UNSUPPORTED_TYPE),
        (b"PK\x03\x04" + b"\0" * 100, "archive.docx", messages.EXTENSION_MISMATCH.format(name="archive.docx")),
    ],
)
def test_rejected_types(data: bytes, name: str, expected: str) -> None:
    with pytest.raises(Rejected) as caught:
        detect_kind(data, name)
    assert caught.value.message == expected


def test_type_comes_from_content_not_extension() -> None:
    png = makers.blank_image()
    assert detect_kind(png, "notes.pdf").kind == "png"
    assert detect_kind(makers.latin_pdf(["x"]), "photo.jpg").kind == "pdf"
    assert detect_kind(makers.docx_bytes(["x"]), "slides.pptx").kind == "docx"
    assert detect_kind(b"<html><body>hi</body></html>", "a.txt").kind == "html"


def test_extract_pages_unknown_kind(cfg: Config) -> None:
    with pytest.raises(ExtractionError):
        extract_pages("exe", b"x", cfg.ingest)


def test_visual_hebrew_in_a_text_file_is_put_in_logical_order(cfg: Config) -> None:
    """Old Hebrew text (ISO-8859-8 "visual") stores every line in painting order."""
    lines = [L1, L2, "הספרים נמצאים בארון הגדול של הכיתה"]
    data = "\n".join(makers.painting_order(line) for line in lines).encode("cp1255")
    assert ingest(cfg, "old.txt", data) == ["\n".join(lines)]


def test_pdfs_extracted_from_several_threads_at_once(cfg: Config) -> None:
    """PDFium is not thread-safe; a worker with concurrency > 1 extracts PDFs side by side."""
    from concurrent.futures import ThreadPoolExecutor

    from studybuddy.ingest.extract import extract_pdf

    data = makers.visual_hebrew_pdf([[L1, L2], [L3]] * 10)
    expected = extract_pdf(data, cfg.ingest)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: extract_pdf(data, cfg.ingest), range(8)))
    assert all(result == expected for result in results)


def test_docx_page_numbers_follow_the_page_breaks_word_rendered(cfg: Config) -> None:
    import io

    import docx
    from docx.oxml import OxmlElement

    document = docx.Document()
    document.add_paragraph("עמוד ראשון")
    paragraph = document.add_paragraph()
    paragraph.add_run("סוף העמוד הראשון ")
    paragraph.add_run()._r.append(OxmlElement("w:lastRenderedPageBreak"))
    paragraph.add_run("תחילת העמוד השני")
    document.add_paragraph("עוד בעמוד השני")
    buffer = io.BytesIO()
    document.save(buffer)
    assert ingest(cfg, "word.docx", buffer.getvalue()) == [
        "עמוד ראשון\nסוף העמוד הראשון", "תחילת העמוד השני\nעוד בעמוד השני",
    ]


def test_html_headings_list_items_and_table_rows_are_kept(cfg: Config) -> None:
    html = (
        "<html><body><h2>מושגים</h2><ul><li>ביקוש</li><li>היצע <b>וגמישות</b></li></ul>"
        "<table><tr><th>מונח</th><th>הגדרה</th></tr><tr><td>תא</td><td>יחידת\nהחיים</td></tr></table>"
        "<p>שורה\nאחת בקוד המקור</p><h4>סעיף</h4></body></html>"
    )
    assert ingest(cfg, "page.html", html.encode()) == [
        "## מושגים\n\n- ביקוש\n- היצע וגמישות\n\nמונח | הגדרה\nתא | יחידת החיים\n\nשורה אחת בקוד המקור\n\n### סעיף"
    ]


def test_docx_title_headings_and_list_items_are_marked(cfg: Config) -> None:
    import io

    import docx

    document = docx.Document()
    document.add_heading("סיכום הקורס", level=0)  # the Title style
    document.add_heading("פרק 1", level=1)
    document.add_heading("סעיף 1.1", level=2)
    document.add_heading("תת סעיף", level=4)
    document.add_paragraph("פריט ראשון", style="List Bullet")
    document.add_paragraph("פריט ממוספר", style="List Number")
    document.add_paragraph("פסקה רגילה")
    buffer = io.BytesIO()
    document.save(buffer)
    assert ingest(cfg, "notes.docx", buffer.getvalue()) == [
        "# סיכום הקורס\n# פרק 1\n## סעיף 1.1\n### תת סעיף\n- פריט ראשון\n- פריט ממוספר\nפסקה רגילה"
    ]
