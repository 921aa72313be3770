"""Parsers are bounded: pathological files finish fast or fail clearly, and memory comes back."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studybuddy.config import Config
from studybuddy.ingest import messages
from studybuddy.ingest.extract import ExtractionError
from studybuddy.ingest.pipeline import process_bytes
from studybuddy.ingest.sandbox import extract_pages_isolated
from studybuddy.store.models import Document

from . import makers

PROBE = Path(__file__).with_name("rss_probe.py")


def _doc(kind: str) -> Document:
    return Document(id="d1", course_id="c1", owner_id="u1", display_name=f"x.{kind}", kind=kind)


def nested_html(depth: int = 100_000) -> bytes:
    return ("<html><body>" + "<div>" * depth + "<p>שלום עולם</p>" + "</div>" * depth + "</body></html>").encode()


def huge_png(side: int = 12000) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (side, side), 1).save(buffer, format="PNG")
    return buffer.getvalue()


def blank_pdf(pages: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    for _ in range(pages):
        pdf.add_page()
    return bytes(pdf.output())


def test_deeply_nested_html_finishes_within_ten_seconds(cfg: Config) -> None:
    started = time.monotonic()
    pages, _ = process_bytes(_doc("html"), nested_html(), cfg)
    assert time.monotonic() - started < 10
    assert pages[0].text == "שלום עולם"


def test_huge_image_fails_clearly(cfg: Config) -> None:
    with pytest.raises(ExtractionError) as caught:
        process_bytes(_doc("png"), huge_png(), cfg)
    assert caught.value.user_message == messages.IMAGE_TOO_LARGE.format(megapixels=50)


def test_blank_pdf_of_200_pages_is_done_quickly_without_ocr(cfg: Config) -> None:
    """Blank pages never reach Tesseract (a missing Tesseract proves it)."""
    no_ocr = cfg.replace(ingest={"tesseract_cmd": "/nonexistent/tesseract"})
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        process_bytes(_doc("pdf"), blank_pdf(200), no_ocr)
    assert caught.value.user_message == messages.NO_TEXT
    assert time.monotonic() - started < 20


def test_a_page_with_ink_but_no_text_still_goes_to_ocr(cfg: Config) -> None:
    no_ocr = cfg.replace(ingest={"tesseract_cmd": "/nonexistent/tesseract"})
    with pytest.raises(ExtractionError) as caught:
        process_bytes(_doc("pdf"), makers.scanned_pdf(["שלום"]), no_ocr)
    assert caught.value.user_message == messages.OCR_MISSING


def busy_html() -> bytes:
    """16 MB of small tags: seconds of CPU to read (a file cheap to make)."""
    return ("<html><body><p>" + "<b>שלום</b> <i>עולם</i> " * 500_000 + "</p></body></html>").encode()


def test_wall_clock_limit_kills_the_parser(cfg: Config) -> None:
    slow = cfg.replace(ingest={"parse_timeout_seconds": 1})
    data = busy_html()
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        extract_pages_isolated("html", data, slow.ingest)
    assert caught.value.user_message == messages.TOO_COMPLEX
    assert "wall-clock" in caught.value.internal
    assert time.monotonic() - started < 10


def test_address_space_limit_fails_the_document(cfg: Config) -> None:
    """An 8000x8000 photo within the pixel limit still needs more memory than 100 MB."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8000, 8000), "white").save(buffer, format="PNG")
    tight = cfg.replace(ingest={"parse_memory_mb": 100, "max_image_pixels": 400_000_000})
    with pytest.raises(ExtractionError) as caught:
        extract_pages_isolated("png", buffer.getvalue(), tight.ingest)
    assert caught.value.user_message == messages.TOO_COMPLEX


def test_cpu_limit_fails_the_document(cfg: Config) -> None:
    """About five seconds of CPU to read, against a limit of one."""
    tight = cfg.replace(ingest={"parse_cpu_seconds": 1, "parse_timeout_seconds": 120})
    with pytest.raises(ExtractionError) as caught:
        extract_pages_isolated("html", busy_html(), tight.ingest)
    assert caught.value.user_message == messages.TOO_COMPLEX
    assert "CPU limit" in caught.value.internal


def _probe(tmp_path: Path, name: str, data: bytes) -> dict[str, float | str]:
    path = tmp_path / name
    path.write_bytes(data)
    done = subprocess.run([sys.executable, str(PROBE), str(path), str(tmp_path / "state")],
                          capture_output=True, text=True, timeout=300, check=True)
    result: dict[str, float | str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_worker_memory_stays_low_on_a_huge_image(tmp_path: Path) -> None:
    result = _probe(tmp_path, "huge.png", huge_png())
    assert result["status"] == "failed"
    assert float(result["peak_mb"]) < 300, result


@pytest.mark.slow
def test_worker_memory_returns_to_idle_after_a_big_job(tmp_path: Path) -> None:
    pages = [[f"שורה {n} עם טקסט ארוך (DNA) ו-1948, וגם Latin words כאן" for n in range(40)]] * 150
    result = _probe(tmp_path, "big.pdf", makers.visual_hebrew_pdf(pages))
    assert result["status"] == "ready"
    assert float(result["after_mb"]) - float(result["idle_mb"]) < 50, result


def test_a_child_that_may_not_set_limits_still_reads_under_the_wall_clock(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A seccomp filter without setrlimit must not make every document fail."""
    import resource

    from studybuddy.ingest import child

    def refuse(*args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(resource, "setrlimit", refuse)
    assert child.apply_limits(10, 512) is False
    assert "wall-clock limit still holds" in caplog.text


def test_the_worker_unit_lets_the_parser_set_its_limits() -> None:
    unit = (Path(__file__).resolve().parents[2] / "systemd/studybuddy-worker.service").read_text()
    assert "SystemCallFilter=~@privileged @resources" in unit
    assert "SystemCallFilter=setrlimit prlimit64" in unit.split("SystemCallFilter=~@privileged @resources")[1]


def test_the_child_protocol_answers_pages_then_done_and_errors(cfg: Config) -> None:
    import dataclasses
    import io

    from studybuddy.ingest import child

    def ask(kind: str, data: bytes) -> list[dict[str, object]]:
        header = json.dumps({"kind": kind, "size": len(data), "config": dataclasses.asdict(cfg.ingest)})
        source, out = io.BytesIO(header.encode() + b"\n" + data), io.BytesIO()
        assert child.serve_one(source, out) is True
        assert child.serve_one(source, out) is False  # the input ended
        return [json.loads(line) for line in out.getvalue().splitlines()]

    import resource

    limits = resource.getrlimit(resource.RLIMIT_CPU), resource.getrlimit(resource.RLIMIT_AS)
    try:
        assert ask("txt", "שורה\fעמוד שני".encode()) == [
            {"progress": [2, 2]}, {"page": "שורה", "of": 2}, {"page": "עמוד שני", "of": 2}, {"done": 2}]
        answers = ask("pdf", makers.latin_pdf(["one", "two"]))
        assert answers == [{"page": "one", "of": 2}, {"page": "two", "of": 2}, {"done": 2}]
        (failed,) = ask("pdf", b"%PDF-1.4 broken")
        assert failed["error"][0] == messages.CORRUPT_PDF  # type: ignore[index]
    finally:  # serve_one set this process's limits: put them back
        resource.setrlimit(resource.RLIMIT_CPU, limits[0])
        resource.setrlimit(resource.RLIMIT_AS, limits[1])
