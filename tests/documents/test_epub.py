"""EPUB books written here as EPUB 3 lays them out: chapters in spine order, headings as
regions, metadata; crafted books (zip bomb, 20,000 entries, entity bomb, DRM, a chapter
path leaving the zip, truncated) refused in one line, fast; once through a worker."""

from __future__ import annotations

import time

import pytest

from benchmarks.other_writers import make_epub
from rag.core.errors import IngestError, LimitExceeded
from rag.core.locations import location_at
from rag.documents.epub import extract_epub, member_path
from rag.documents.kinds import ExtractLimits
from rag.documents.parsing import ParseLimits, Parser
from tests.support import hostile_zips

LIMITS = ExtractLimits()
CHAPTERS = [
    "<h1>Part One</h1><p>The ferry left at dawn.</p>",
    "<h2>The Harbour</h2><p>The harbour master was called Oskar Venn.</p>"
    "<h3>Night</h3><p>Lanterns burned until four.</p>",
    "<h1>Part Two</h1><p>The lighthouse had 212 steps.</p>",
]
BOOK = make_epub("The Harbour Book", CHAPTERS, author="Liis Kask")


def test_chapters_in_spine_order_with_heading_paths_and_metadata():
    found = extract_epub(BOOK, "b.epub", LIMITS)
    assert found.text.startswith("Part One\n\nThe ferry left at dawn.\n\nThe Harbour")
    assert "Contents" not in found.text, "the navigation document is not in the spine"

    def where(fact: str) -> dict | None:
        return location_at(found.regions, found.text.index(fact))

    assert where("Oskar Venn") == {"headings": ["Part One", "The Harbour"]}
    assert where("four") == {"headings": ["Part One", "The Harbour", "Night"]}
    assert where("212 steps") == {"headings": ["Part Two"]}
    assert found.title == "The Harbour Book"
    assert found.metadata == {
        "format": "epub",
        "author": "Liis Kask",
        "date": "2023-11-02",
        "language": "en",
        "chapters": 3,
    }


def test_a_chapter_that_is_html_not_xml_is_still_read():
    html = "<h1>Loose</h1><p>Unclosed paragraph &nbsp; with <br> a break<p>Second"
    book = hostile_zips.replaced(BOOK, "OEBPS/text/ch1.xhtml", f"<html><body>{html}</body></html>")
    found = extract_epub(book, "b.epub", LIMITS)
    assert "Unclosed paragraph with\na break\n\nSecond" in found.text
    assert location_at(found.regions, found.text.index("Second")) == {"headings": ["Loose"]}


def test_member_paths_stay_inside_the_zip():
    assert member_path("OEBPS/content.opf", "text/ch%201.xhtml") == "OEBPS/text/ch 1.xhtml"
    assert member_path("OEBPS/content.opf", "../../etc/passwd") is None
    assert member_path("", "/abs") is None


def _encrypted() -> bytes:
    encryption = (
        '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
        'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
        '<enc:CipherData><enc:CipherReference URI="OEBPS/text/ch0.xhtml"/></enc:CipherData>'
        "</enc:EncryptedData></encryption>"
    )
    return make_epub("Locked", CHAPTERS, extra=[("META-INF/encryption.xml", encryption)])


MIMETYPE = ("mimetype", "application/epub+zip")
HOSTILE = {
    "zip bomb": (hostile_zips.bomb(MIMETYPE, "OEBPS/text/ch0.xhtml"), LimitExceeded, "zip bomb"),
    "20,000 entries": (hostile_zips.many_entries(MIMETYPE), LimitExceeded, "10,000 parts"),
    "entity bomb": (
        hostile_zips.replaced(
            BOOK, "OEBPS/text/ch0.xhtml", hostile_zips.ENTITY_BOMB + "<html>&lol9;</html>"
        ),
        IngestError,
        "entit",
    ),
    "external entity in the package": (
        hostile_zips.replaced(BOOK, "OEBPS/content.opf", hostile_zips.EXTERNAL_ENTITY + "<r/>"),
        IngestError,
        "declares XML entities",
    ),
    "DRM": (_encrypted(), IngestError, "encrypted (DRM)"),
    "truncated": (BOOK[: len(BOOK) // 3], IngestError, "damaged zip"),
    "no container": (hostile_zips.zip_with([MIMETYPE]), IngestError, "container.xml missing"),
    "no text": (make_epub("Empty", ["<p> </p>"]), IngestError, "has no text"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_crafted_or_broken_book_is_one_line_fast(case):
    data, error, message = HOSTILE[case]
    started = time.perf_counter()
    with pytest.raises(error) as caught:
        extract_epub(data, "bad.epub", LIMITS)
    assert time.perf_counter() - started < 2
    assert str(caught.value).startswith("bad.epub: ") and "\n" not in str(caught.value)
    assert message in str(caught.value)


def test_a_chapter_path_outside_the_zip_is_not_read():
    package = (
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata/>'
        '<manifest><item id="a" href="../../../etc/passwd" media-type="application/xhtml+xml"/>'
        '</manifest><spine><itemref idref="a"/></spine></package>'
    )
    book = hostile_zips.replaced(BOOK, "OEBPS/content.opf", package)
    with pytest.raises(IngestError, match="has no text"):
        extract_epub(book, "b.epub", LIMITS)


def test_through_a_bounded_worker():
    parser = Parser(ParseLimits(seconds=10, memory_mb=768, workers=1))
    try:
        document = parser.read_bytes(BOOK, "harbour.epub")
        at = document.text.index("Oskar Venn")
        assert location_at(document.regions, at) == {"headings": ["Part One", "The Harbour"]}
        with pytest.raises(IngestError, match="DRM"):
            parser.read_bytes(_encrypted(), "locked.epub")
    finally:
        parser.stop()
