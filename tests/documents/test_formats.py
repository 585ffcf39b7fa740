"""HTML and PDF in: main text only, metadata, page offsets, clear errors (real files)."""

from __future__ import annotations

import pytest

from rag.core.errors import IngestError
from rag.core.types import pages_of
from rag.documents import ingest, kinds
from tests.support.pdfs import make_pdf
from tests.support.samples import BOILERPLATE, PAGE, report


def test_a_saved_news_page_keeps_the_article_and_its_metadata():
    document = ingest.read_file(PAGE)
    assert document.title == "Kite stays aloft for 31 hours over Lake Peipsi"
    assert "stayed in the air for 31 hours" in document.text
    assert "we almost lost it" in document.text
    for junk in BOILERPLATE:
        assert junk not in document.text, junk
    assert document.metadata == {
        "format": "html",
        "url": "https://baltic-daily.example/news/2024/05/kite-record-peipsi",
        "author": "Liis Kask",
        "date": "2024-05-19",
        "site": "Baltic Daily",
    }
    assert document.doc_id == "kite-record"


def test_a_pdf_keeps_each_page_start_and_its_metadata():
    document = ingest.read_bytes(report(), "report.pdf")
    starts = document.metadata["page_starts"]
    assert document.metadata["pages"] == 3 and len(starts) == 3
    assert document.metadata["author"] == "Mira Tamm"
    assert document.metadata["date"] == "2024-03-15"
    assert document.title == "Zorblax Annual Report 2023"
    assert document.text.startswith("Annual Report of the Zorblax Kite Society")
    at = document.text.index("Mira Tamm")
    assert pages_of(at, at + len("Mira Tamm"), starts) == (3,), "page 2 has no text"
    first = document.text.index("412 members")
    assert pages_of(first, at, starts) == (1, 3)
    assert document.text.count("Volunteers") == 24
    assert starts[1] == starts[2], "a page without text starts where the next one does"


def test_page_numbers_of_spans():
    starts = [0, 100, 100, 250]  # page 2 has no text
    assert pages_of(0, 10, starts) == (1,)
    assert pages_of(99, 101, starts) == (1, 3), "page 2 has no text"
    assert pages_of(100, 250, starts) == (3,)
    assert pages_of(240, 260, starts) == (3, 4)
    assert pages_of(5, 6, []) == ()


def test_the_type_comes_from_the_content_and_the_name():
    assert kinds.kind_of("report", report()) == "pdf", "a PDF without a suffix"
    assert kinds.kind_of("page", b"<!DOCTYPE html><html>") == "html"
    assert kinds.kind_of("page.htm", b"anything") == "html"
    assert kinds.kind_of("notes.md", b"<html> in a markdown note") == "markdown"
    with pytest.raises(ingest.UnsupportedFileType, match="unsupported file type"):
        ingest.read_bytes(b"MZ\x90\x00", "setup.exe")


def test_bad_pdfs_and_empty_pages_get_clear_errors():
    with pytest.raises(IngestError, match=r"no text layer .*OCR"):
        ingest.read_bytes(make_pdf([[], []]), "scan.pdf")
    with pytest.raises(IngestError, match="not a readable PDF"):
        ingest.read_bytes(b"%PDF-1.4 truncated", "broken.pdf")
    with pytest.raises(IngestError, match="not a readable PDF"):
        ingest.read_bytes(b"just text", "fake.pdf")
    with pytest.raises(IngestError, match="no article text"):
        ingest.read_bytes(b"<html><body><div></div></body></html>", "empty.html")


def test_a_pdf_title_that_is_a_file_name_gives_way_to_the_first_line():
    data = make_pdf([["Quarterly figures", "Sales rose."]], title="figures-q3.docx")
    assert ingest.read_bytes(data, "q3.pdf").title == "Quarterly figures Sales rose."
