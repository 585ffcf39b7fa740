"""Scanned PDF pages read by OCR (issue 37, item 2): only the pages without a text layer,
in the parse workers, each page under its time limit, at most RAG_OCR_MAX_PAGES of them;
the pages read listed in ``ocr_pages``; without tesseract, the refusal of a scan stays.

The scans are drawn here with Pillow (its own font, so no system font is needed) at
100 dpi: small images, about half a second of OCR each."""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from rag.core.errors import IngestError, LimitExceeded, ShuttingDown
from rag.core.types import pages_of
from rag.documents import ingest
from rag.documents.ocr import OcrOptions, lacks_text
from rag.documents.parsing import ParseLimits, Parser
from tests.support.hostile import pdf_of
from tests.support.pdfs import make_scanned_pdf

LIGHTHOUSE = "The lighthouse at Varne Point was built in 1874 by Margaret Ellison."
LAMP = "Its lamp burned whale oil until 1921, when it was electrified."
TEXT_PAGE = ["Harbour records of the coast.", "The pier was rebuilt in 1902."]
LIMITS = ParseLimits(seconds=5, memory_mb=512, max_pages=50, workers=1)


def scan(*lines: str, dpi: int = 100, size: tuple[float, float] = (8.5, 11)):
    """A scanned page of clear print: ``lines`` in 14 pt black on white, as
    (width, height, grey pixels) for :func:`make_scanned_pdf`."""
    image = Image.new("L", (int(size[0] * dpi), int(size[1] * dpi)), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=round(14 * dpi / 72))
    for i, line in enumerate(lines):
        draw.text((dpi, dpi + i * round(22 * dpi / 72)), line, fill=0, font=font)
    return (image.width, image.height, image.tobytes())


def words(text: str) -> str:
    return " ".join(text.split())


def fake_tesseract(folder: Path, script: str) -> str:
    """An executable standing in for tesseract (``script``: shell, run after reading the
    image from stdin)."""
    path = folder / "tesseract"
    path.write_text(f"#!/bin/sh\ncat >/dev/null\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture(scope="module")
def parser():
    bounded = Parser(LIMITS)
    yield bounded
    bounded.stop()


def test_a_text_layer_of_a_page_number_or_a_stamp_is_no_text_layer():
    assert lacks_text("") and lacks_text("Page 2 of 10") and lacks_text("CONFIDENTIAL 000123")
    assert not lacks_text(TEXT_PAGE[0])


def test_a_scanned_page_of_clear_print_is_read_by_ocr():
    document = ingest.read_bytes(make_scanned_pdf([scan(LIGHTHOUSE, LAMP)]), "scan.pdf")
    assert LIGHTHOUSE in words(document.text) and LAMP in words(document.text)
    assert document.metadata["ocr_pages"] == [1] and document.metadata["page_starts"] == [0]


def test_only_the_scanned_pages_of_a_mixed_pdf_are_read_by_ocr_in_the_worker(parser):
    blank = (40, 40, b"\xff" * 1600)  # an image of white: no OCR, no text
    pdf = make_scanned_pdf([TEXT_PAGE, scan(LIGHTHOUSE), [], blank, scan(LAMP)])
    document = parser.read_bytes(pdf, "mixed.pdf")
    text, starts = document.text, document.metadata["page_starts"]
    assert document.metadata["ocr_pages"] == [2, 5] and document.metadata["pages"] == 5
    assert text.startswith("Harbour records of the coast. The pier was rebuilt in 1902.")
    assert words(text[starts[1] :]).startswith(LIGHTHOUSE)
    assert starts[2] == starts[3] == starts[4], "pages 3 and 4 have no text"
    assert words(text[starts[4] :]) == LAMP
    at = text.index("Varne Point")
    assert pages_of(at, at + len("Varne Point"), starts) == (2,)
    assert [location for _, location in document.regions] == [{"page": n} for n in (1, 2, 5)]


def test_a_pdf_with_a_text_layer_is_not_read_by_ocr(parser):
    document = parser.read_bytes(make_scanned_pdf([TEXT_PAGE]), "text.pdf")
    assert "ocr_pages" not in document.metadata
    assert document.text == "Harbour records of the coast. The pier was rebuilt in 1902."


def test_more_scanned_pages_than_the_limit_is_one_line_before_any_is_read(parser):
    pdf = make_scanned_pdf([scan("One."), scan("Two."), scan("Three.")])
    capped = ParseLimits(seconds=5, workers=1, ocr=OcrOptions(max_pages=2))
    message = r"^many\.pdf: 3 scanned pages to read by OCR, more than 2 \(RAG_OCR_MAX_PAGES\)$"
    with pytest.raises(LimitExceeded, match=message):
        ingest.read_bytes(pdf, "many.pdf", extract=_extract(capped))
    bounded = Parser(capped)
    try:
        started = time.perf_counter()
        with pytest.raises(LimitExceeded, match=message):
            bounded.read_bytes(pdf, "many.pdf")
        assert time.perf_counter() - started < 5, "refused before any page is read"
    finally:
        bounded.stop()


def _extract(limits: ParseLimits):
    """An in-process extractor with ``limits``' OCR options (as the worker gets them)."""
    from rag.documents import kinds

    def extract(kind: str, data: bytes, name: str):
        return kinds.extractor(kind)(data, name, kinds.ExtractLimits(ocr=limits.ocr))

    return extract


def test_a_page_of_broken_resources_is_no_scan_and_the_pdf_stays_readable():
    """A text-less page whose image is a dangling reference, or whose XObjects are not a
    dictionary: no image to read, and the PDF's text page is read as before OCR."""
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources %s /Contents %d 0 R >>"
    text = b"BT /F1 11 Tf 72 740 Td (Readable text page) Tj ET"
    pdf = pdf_of(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R 5 0 R 6 0 R] /Count 3 >>",
            page % (b"<< /Font << /F1 7 0 R >> >>", 4),
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
            page % (b"<< /XObject << /Im1 99 0 R >> >>", 8),
            page % (b"<< /XObject 42 >>", 8),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Length 0 >>\nstream\n\nendstream",
        ]
    )
    document = ingest.read_bytes(pdf, "broken.pdf")
    assert document.text == "Readable text page" and "ocr_pages" not in document.metadata


def test_without_tesseract_a_scan_is_refused_as_before_and_text_pages_are_kept(tmp_path):
    missing = ParseLimits(ocr=OcrOptions(command=str(tmp_path / "no-tesseract")))
    pdf = make_scanned_pdf([scan(LIGHTHOUSE)])
    with pytest.raises(IngestError) as refused:
        ingest.read_bytes(pdf, "scan.pdf", extract=_extract(missing))
    line = str(refused.value)
    assert line.startswith("scan.pdf: the PDF has no text layer (a scanned document?): ")
    assert "install tesseract-ocr" in line and "\n" not in line
    off = ParseLimits(ocr=OcrOptions(enabled=False))
    with pytest.raises(IngestError, match=r"no text layer .*OCR is off here \(RAG_OCR\)"):
        ingest.read_bytes(pdf, "scan.pdf", extract=_extract(off))
    mixed = ingest.read_bytes(
        make_scanned_pdf([TEXT_PAGE, scan(LIGHTHOUSE)]), "mixed.pdf", extract=_extract(missing)
    )
    assert "ocr_pages" not in mixed.metadata and "Varne" not in mixed.text
    assert mixed.metadata["page_starts"] == [0, len(mixed.text)]


def test_a_page_past_its_time_limit_is_one_line_and_the_worker_parses_on(tmp_path):
    slow = fake_tesseract(tmp_path, "exec sleep 20")
    limits = ParseLimits(seconds=5, workers=1, ocr=OcrOptions(page_seconds=1, command=slow))
    bounded = Parser(limits)
    try:
        started = time.perf_counter()
        message = r"^slow\.pdf: OCR of page 1 exceeded 1 s \(RAG_OCR_PAGE_SECONDS\)$"
        with pytest.raises(LimitExceeded, match=message):
            bounded.read_bytes(make_scanned_pdf([scan("Slow.")]), "slow.pdf")
        assert time.perf_counter() - started < 4
        after = bounded.read_bytes(make_scanned_pdf([TEXT_PAGE]), "after.pdf")
        assert after.text.startswith("Harbour records")
    finally:
        bounded.stop()


def test_the_scanned_pages_get_their_own_time_past_the_parse_limit(tmp_path):
    """A PDF's parse has RAG_PARSE_SECONDS; once the worker says it reads N scanned pages,
    it has N × RAG_OCR_PAGE_SECONDS more (each page still stopped at its own limit)."""
    steady = fake_tesseract(tmp_path, "sleep 0.8\necho 'Read after a while.'")
    limits = ParseLimits(seconds=1, workers=1, ocr=OcrOptions(page_seconds=3, command=steady))
    bounded = Parser(limits)
    try:
        document = bounded.read_bytes(make_scanned_pdf([scan("A."), scan("B.")]), "two.pdf")
        assert document.text == "Read after a while.\n\nRead after a while."
        assert document.metadata["ocr_pages"] == [1, 2]
    finally:
        bounded.stop()


def _running(marker: str) -> list[int]:
    """The processes whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads /proc (Linux)")
def test_stopping_the_parser_during_ocr_ends_its_tesseract_too(tmp_path):
    marker = f"{os.getpid()}.{time.monotonic_ns() % 1000}"
    hung = fake_tesseract(tmp_path, f"exec sleep 3{marker}")  # `sleep 3<pid>.<n>`
    bounded = Parser(ParseLimits(seconds=5, workers=1, ocr=OcrOptions(command=hung)))
    outcome: list[Exception] = []

    def parse() -> None:
        try:
            bounded.read_bytes(make_scanned_pdf([scan("Hung.")]), "hung.pdf")
        except (IngestError, ShuttingDown) as exc:
            outcome.append(exc)

    thread = threading.Thread(target=parse)
    thread.start()
    deadline = time.monotonic() + 10
    while not _running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _running(marker), "tesseract was started"
    bounded.stop()
    thread.join(5)
    assert isinstance(outcome[0], ShuttingDown)
    deadline = time.monotonic() + 3
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(marker), "the killed worker took its tesseract with it"


def test_a_huge_page_is_rendered_within_the_pixel_cap(parser):
    """A page that claims to be 5 m square, one scanned image of print over all of it:
    rendered at a lower resolution, not at 200 dpi (39,000 pixels a side), within the
    worker's 512 MB."""
    huge = make_scanned_pdf([scan(LIGHTHOUSE, size=(8.5, 8.5))], media=(14_400, 14_400))
    document = parser.read_bytes(huge, "huge.pdf")
    assert re.search(r"lighthouse", document.text, re.IGNORECASE)
    assert document.metadata["ocr_pages"] == [1]


@pytest.mark.model
def test_a_question_about_a_scanned_page_is_answered_from_its_ocr_text(seeded, tmp_path):
    path = tmp_path / "varne.pdf"
    page = scan(
        "Varne Point",
        LIGHTHOUSE,
        "Ellison chose granite from the Trelowarth quarry for its tower.",
        LAMP,
    )
    path.write_bytes(make_scanned_pdf([TEXT_PAGE, page]))
    (document, created), *_ = seeded.index_paths([path])[0]
    assert created and document.metadata["ocr_pages"] == [2]
    result = seeded.ask("Who built the lighthouse at Varne Point?")
    assert result.answer == "Margaret Ellison"
    source = result.answers[0].sources[0]
    assert source.doc_id == document.doc_id and source.location == {"page": 2}
    assert source.answer_start >= document.metadata["page_starts"][1], "in the scanned page"
    assert document.text[source.answer_start : source.answer_end] == "Margaret Ellison"
