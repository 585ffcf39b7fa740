"""RTF written by hand: text and paragraphs, escapes and Unicode, the info group's title,
author and date; files that are not RTF, or crafted ones, refused in one line, fast."""

from __future__ import annotations

import time

import pytest

from benchmarks.other_writers import make_rtf
from rag.core.errors import IngestError, LimitExceeded
from rag.core.locations import location_at
from rag.documents import ingest
from rag.documents.kinds import ExtractLimits
from rag.documents.parsing import ParseLimits, Parser
from rag.documents.rtf import extract_rtf

LIMITS = ExtractLimits()
MANUAL = make_rtf(
    ["Boiler manual", "The boiler code is K-778 {in braces}.", "Café hours: 9–17."],
    title="Boiler Manual – Kessel",
    author="Ann Lee",
)


def test_text_paragraphs_unicode_and_info():
    found = extract_rtf(MANUAL, "m.rtf", LIMITS)
    assert found.text == "Boiler manual\nThe boiler code is K-778 {in braces}.\nCafé hours: 9–17."
    assert found.title == "Boiler Manual – Kessel"
    assert found.metadata == {"format": "rtf", "author": "Ann Lee", "date": "2024-03-15"}
    assert found.regions == []


def test_outline_levels_give_heading_regions():
    paragraphs = [("h1", "Scope"), "Intro.", ("h2", "Notice"), "The notice is 47 days."]
    paragraphs += [("h1", "Holidays"), "Staff get 28 days.", r"Own mark \u57344? kept"]
    found = extract_rtf(make_rtf(paragraphs), "h.rtf", LIMITS)
    assert found.text.split("\n")[:4] == ["Scope", "Intro.", "Notice", "The notice is 47 days."]
    assert location_at(found.regions, found.text.index("47")) == {"headings": ["Scope", "Notice"]}
    assert location_at(found.regions, found.text.index("28")) == {"headings": ["Holidays"]}
    assert found.text.endswith("Own mark \\u57344? kept"), "escaped: the text as written"
    mark = rb"{\rtf1 \pard\outlinelevel0 Title\par\pard x\u57344?y\u-8192?z\par}"
    found = extract_rtf(mark, "m.rtf", LIMITS)
    assert found.text == "Title\nx y z" and found.regions == [(0, {"headings": ["Title"]})]


def test_fonts_colours_pictures_and_hidden_groups_are_not_text():
    data = (
        rb"{\rtf1\ansi{\fonttbl{\f0 Arial;}}{\colortbl;\red255\green0\blue0;}"
        rb"{\*\generator Writer 1.0;}{\pict\pngblip 89504e47}"
        rb"\pard Visible \'e9t\'e9 text\par}"
    )
    found = extract_rtf(data, "p.rtf", LIMITS)
    assert found.text == "Visible été text"
    assert found.title is None, "no info group: the first line is the title"
    assert ingest.read_bytes(data, "p.rtf").title == "Visible été text"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Just plain text named .rtf", "not an RTF document"),
        (b"PK\x03\x04 a zip", "not an RTF document"),
        (rb"{\rtf1 {\fonttbl{\f0 A;}}}", "has no text"),
        (rb"{\rtf1 \u99999999999 x}", "not a readable RTF document"),
    ],
)
def test_what_is_no_rtf_or_has_no_text_is_one_line(data, message):
    with pytest.raises(IngestError, match=message) as caught:
        extract_rtf(data, "x.rtf", LIMITS)
    assert str(caught.value).startswith("x.rtf: ") and "\n" not in str(caught.value)


def test_crafted_rtf_is_bounded():
    deep = b"{\\rtf1 " + b"{" * 200_000 + b"deep" + b"}" * 200_000 + b"}"
    started = time.perf_counter()
    assert extract_rtf(deep, "deep.rtf", LIMITS).text == "deep", "nesting is not recursion"
    # a title the pattern cannot match, after 20,000 control words: no backtracking
    info = b"{\\rtf1 {\\info{\\title " + b"\\b x " * 20_000 + b"{\\*\\x y}}}\\pard body\\par}"
    assert extract_rtf(info, "info.rtf", LIMITS).title is None
    assert time.perf_counter() - started < 5
    big = make_rtf(["word " * 1000] * 100)
    with pytest.raises(LimitExceeded, match="extracted text over"):
        extract_rtf(big, "big.rtf", ExtractLimits(max_text_bytes=100_000))


def test_through_a_bounded_worker():
    parser = Parser(ParseLimits(seconds=10, memory_mb=768, workers=1))
    try:
        document = parser.read_bytes(MANUAL, "manual.rtf")
        assert document.title == "Boiler Manual – Kessel"
        assert "K-778" in document.text
        with pytest.raises(IngestError, match="not an RTF document"):
            parser.read_bytes(b"plain", "fake.rtf")
    finally:
        parser.stop()
