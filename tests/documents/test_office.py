"""Word documents and decks in (python-docx, python-pptx): text in reading order, tables,
speaker notes, titles, metadata, heading and slide regions; hostile files refused in one
line within their limits; every format through the real bounded worker (issue 37)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from pptx.util import Inches

from rag.core.errors import IngestError, LimitExceeded
from rag.core.locations import location_at
from rag.documents import ingest, office
from rag.documents.blocks import table_text
from rag.documents.chunking import Chunker
from rag.documents.kinds import ExtractLimits
from rag.documents.parsing import ParseLimits, Parser
from tests.support import office as files

LIMITS = ExtractLimits()


def _handbook(document) -> None:
    properties = document.core_properties
    properties.title, properties.author = "Harbour handbook", "Mira Tamm"
    properties.created = dt.datetime(2024, 3, 15, 9, 30)
    document.add_paragraph("Harbour handbook", style="Title")
    document.add_paragraph("Read this first.")
    document.add_heading("Scope", 1)
    document.add_paragraph("The rules cover every pier.\nNight rules differ.")
    document.add_heading("Notice", 2)
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([["Berth", "Fee", "Hours"], ["North", "12 EUR", "6-22"],
                             ["South", "9 EUR", "all day"]]):  # fmt: skip
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("Fees are paid at the office.")
    document.add_heading("Contacts", 1)
    form = document.add_table(rows=2, cols=2)
    for r, row in enumerate([["Harbour master", "Oskar Vint"], ["Phone", "555 0199"]]):
        for c, value in enumerate(row):
            form.cell(r, c).text = value


@pytest.fixture(scope="module")
def handbook() -> bytes:
    return files.docx_bytes(_handbook)


def _deck(deck) -> None:
    deck.core_properties.title, deck.core_properties.author = "", "Ines Aurel"
    cover = deck.slides.add_slide(deck.slide_layouts[0])
    cover.shapes.title.text = "Harbour review"
    cover.placeholders[1].text = "Spring 2024"
    deck.slides.add_slide(deck.slide_layouts[6])  # a blank slide: no text, no region
    body = deck.slides.add_slide(deck.slide_layouts[1])
    body.placeholders[1].text = "Dredging ends in May.\nPier 4 reopens in June."
    body.shapes.title.text = "Works"  # set last: still read first
    body.notes_slide.notes_text_frame.text = "Say that the budget was 2.1 M EUR."
    costs = deck.slides.add_slide(deck.slide_layouts[5])
    costs.shapes.title.text = "Costs"
    grid = costs.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(1)).table
    for r, row in enumerate([["Item", "Cost"], ["Dredging", "1.4 M EUR"], ["Pier 4", "0.7 M EUR"]]):
        for c, value in enumerate(row):
            grid.cell(r, c).text = value
    group = costs.shapes.add_group_shape()
    group.shapes.add_textbox(Inches(1), Inches(5), Inches(4), Inches(1)).text = "Audited in July."


@pytest.fixture(scope="module")
def deck() -> bytes:
    return files.pptx_bytes(_deck)


def test_a_word_document_reads_paragraphs_and_tables_in_order_under_their_headings(handbook):
    found = office.extract_docx(handbook, "handbook.docx", LIMITS)
    assert found.text == (
        "Harbour handbook\n\nRead this first.\n\nScope\n\n"
        "The rules cover every pier.\nNight rules differ.\n\nNotice\n\n"
        "Berth | Fee | Hours\nNorth — Fee: 12 EUR; North — Hours: 6-22; Berth: North.\n"
        "South — Fee: 9 EUR; South — Hours: all day; Berth: South.\n\n"
        "Fees are paid at the office.\n\n"
        "Contacts\n\nHarbour master: Oskar Vint\nPhone: 555 0199"
    )
    text = found.text
    assert found.regions == [
        (0, {"headings": ["Harbour handbook"]}),
        (text.index("Scope"), {"headings": ["Scope"]}),
        (text.index("Notice"), {"headings": ["Scope", "Notice"]}),
        (text.index("Contacts"), {"headings": ["Contacts"]}),
    ]
    assert found.title == "Harbour handbook"
    assert found.metadata == {"format": "docx", "author": "Mira Tamm", "date": "2024-03-15"}


def test_a_word_document_without_properties_is_titled_by_its_first_heading():
    def build(document) -> None:
        document.add_paragraph("A note before any heading.")
        document.add_heading("Mooring rules", 1)
        document.add_paragraph("Boats moor bow first.")

    found = office.extract_docx(files.docx_bytes(build), "rules.docx", LIMITS)
    assert found.title == "Mooring rules"
    assert found.metadata == {"format": "docx", "date": "2013-12-23"}, "no template author"
    assert found.regions == [(28, {"headings": ["Mooring rules"]})]
    with pytest.raises(IngestError, match=r"^empty\.docx: the Word document has no text$"):
        office.extract_docx(files.docx_bytes(lambda d: None), "empty.docx", LIMITS)


def test_tables_read_as_rows_with_their_headers_forms_as_pairs_and_merged_cells_once():
    headed = [["Berth", "Fee", "Hours"], ["North", "12 EUR", ""], ["South", "9 EUR", "9 EUR"]]
    assert table_text(headed) == (
        "Berth | Fee | Hours\nNorth — Fee: 12 EUR; Berth: North.\n"
        "South — Fee: 9 EUR; South — Hours: 9 EUR; Berth: South."
    )
    merged = [["Berth", "Fee", "Fee"], ["North", "12 EUR", "12 EUR"]]
    assert table_text(merged) == "Berth | Fee | Fee\nNorth — Fee: 12 EUR; Berth: North."
    assert table_text([["Berth", "Fee"], ["", "12 EUR"]], header_marked=True) == (
        "Berth | Fee\nFee: 12 EUR"
    ), "a row without its key"
    long_key = "A berth on the north side of the old harbour, next to the fuel dock"
    assert table_text([["Berth", "Fee", "Hours"], [long_key, "12 EUR", "6-22"]]) == (
        f"Berth | Fee | Hours\nFee: 12 EUR; Hours: 6-22; Berth: {long_key}."
    ), "a long key is not repeated"
    assert table_text([["Owner", "Ada"], ["Boat", ""]]) == "Owner: Ada\nBoat"
    assert table_text([["2024", "North", "12"], ["2025", "South", "9"]]) == (
        "2024 | North | 12\n2025 | South | 9"
    ), "a first row with numbers is data"
    assert table_text([["", ""], ["", ""]]) == ""


def test_a_deck_reads_slide_by_slide_title_first_then_shapes_tables_and_notes(deck):
    found = office.extract_pptx(deck, "review.pptx", LIMITS)
    assert found.text == (
        "Harbour review\n\nSpring 2024\n\n"
        "Works\n\nDredging ends in May.\nPier 4 reopens in June.\n\n"
        "Say that the budget was 2.1 M EUR.\n\n"
        "Costs\n\nItem | Cost\nDredging — Cost: 1.4 M EUR; Item: Dredging.\n"
        "Pier 4 — Cost: 0.7 M EUR; Item: Pier 4."
        "\n\nAudited in July."
    )
    text = found.text
    assert found.regions == [
        (0, {"slide": 1}),
        (text.index("Works"), {"slide": 3}),
        (text.index("Costs"), {"slide": 4}),
    ], "slide 2 has no text: no region, and the numbers stay the deck's"
    assert found.title == "Harbour review", "the first slide's title"
    assert found.metadata == {
        "format": "pptx",
        "author": "Ines Aurel",
        "date": "2013-01-27",
        "slides": 4,
    }


def test_a_passage_is_located_by_the_heading_path_or_slide_that_holds_its_answer(handbook, deck):
    chunker = Chunker(target_words=12, max_words=20, overlap_words=0)
    for data, name, answer, where in (
        (handbook, "handbook.docx", "9 EUR", {"headings": ["Scope", "Notice"]}),
        (handbook, "handbook.docx", "Oskar Vint", {"headings": ["Contacts"]}),
        (deck, "review.pptx", "2.1 M EUR", {"slide": 3}),
        (deck, "review.pptx", "July", {"slide": 4}),
    ):
        document = ingest.read_bytes(data, name)
        at = document.text.index(answer)
        chunk = next(c for c in chunker.split(document) if c.start <= at < c.end)
        assert location_at(chunk.regions, at) == where, answer


#: (what is done to a valid file, the error, what its line says)
HOSTILE = {
    "encrypted": (lambda data, kind: files.encrypted(), IngestError, "encrypted, or an old binary"),
    "truncated": (lambda data, kind: data[: len(data) // 2], IngestError, "a damaged zip"),
    "zip bomb": (lambda data, kind: files.zip_bomb(data), LimitExceeded, "(a zip bomb?)"),
    "20,000 parts": (lambda data, kind: files.many_parts(), LimitExceeded, "10,000 parts"),
    "billion laughs": (
        lambda data, kind: files.with_dtd(data, kind, files.BILLION_LAUGHS),
        IngestError,
        "declares a DTD",
    ),
    "external entity": (
        lambda data, kind: files.with_dtd(data, kind, files.EXTERNAL_ENTITY),
        IngestError,
        "declares a DTD",
    ),
    "bad XML": (
        lambda data, kind: files.rewrite(data, {files.MAIN_PART[kind]: b"<unclosed>"}),
        IngestError,
        "not a readable",
    ),
    "another format": (
        lambda data, kind: files.simple("pptx" if kind != "pptx" else "docx"),
        IngestError,
        "not a readable",
    ),
}
EXTRACTORS = {"docx": office.extract_docx, "pptx": office.extract_pptx}


@pytest.fixture(scope="module")
def valid() -> dict[str, bytes]:
    return {kind: files.simple(kind) for kind in ("docx", "pptx", "xlsx")}


@pytest.mark.parametrize("case", HOSTILE)
@pytest.mark.parametrize("kind", ["docx", "pptx", "xlsx"])
def test_a_hostile_office_file_is_one_line_within_its_limits(valid, kind, case):
    from rag.documents import sheets

    make, error, says = HOSTILE[case]
    data, name = make(valid[kind], kind), f"hostile.{kind}"
    extract = {**EXTRACTORS, "xlsx": sheets.extract_xlsx}[kind]
    started = time.perf_counter()
    with pytest.raises(IngestError) as raised:
        extract(data, name, LIMITS)
    assert time.perf_counter() - started < 2
    message = str(raised.value)
    assert type(raised.value) is error, message
    assert message.startswith(f"{name}: ") and says in message and "\n" not in message
    assert len(message) < 300, message


@pytest.mark.parametrize(
    "prolog",
    [
        b"<?xml version='1.0'?><!--"
        + b" padding" * 10_000
        + b"-->\n"
        + files.EXTERNAL_ENTITY[0][22:],
        files.EXTERNAL_ENTITY[0].replace(b'<?xml version="1.0"?>', b"").decode().encode("utf-16"),
    ],
    ids=["after a 80 kB comment", "in UTF-16"],
)
def test_a_dtd_hidden_behind_a_long_comment_or_another_encoding_is_found(valid, prolog):
    def edit(xml: bytes) -> bytes:
        return prolog + xml.split(b"?>", 1)[1].lstrip()

    data = files.rewrite(valid["docx"], {"word/document.xml": edit})
    with pytest.raises(IngestError, match=r"^d\.docx: word/document\.xml declares a DTD"):
        office.extract_docx(data, "d.docx", LIMITS)


@pytest.fixture(scope="module")
def thousand_slides() -> bytes:
    return files.many_slides(1000)


@pytest.fixture(scope="module")
def parser():
    bounded = Parser(ParseLimits(seconds=20, workers=1))
    bounded.read_bytes(b"Berth,Fee\nNorth,12\n", "warm.csv")  # the worker is up
    yield bounded
    bounded.stop()


def test_a_deck_of_1000_slides_is_read_within_the_limits_and_refused_past_the_slide_cap(
    parser, thousand_slides
):
    started = time.perf_counter()
    document = parser.read_bytes(thousand_slides, "long.pptx")
    assert time.perf_counter() - started < 20
    assert len(document.regions) == 1000 and document.regions[-1][1] == {"slide": 1000}
    assert document.text.endswith("Berth 999 is open.\n\nBerth 1000 is open.")
    assert document.metadata["slides"] == 1000
    capped = Parser(ParseLimits(max_pages=500, workers=1))
    try:
        with pytest.raises(LimitExceeded, match=r"^long\.pptx: more than 500 slides \(1,000\)$"):
            capped.read_bytes(thousand_slides, "long.pptx")
    finally:
        capped.stop()


def test_the_worker_time_limit_still_stops_an_office_parse(thousand_slides):
    slow = Parser(ParseLimits(seconds=0.1, workers=1))
    try:
        slow.read_bytes(b"Berth,Fee\nNorth,12\n", "warm.csv")  # the worker is up
        started = time.perf_counter()
        with pytest.raises(LimitExceeded, match=r"^long\.pptx: PowerPoint presentation parsing "):
            slow.read_bytes(thousand_slides, "long.pptx")
        assert time.perf_counter() - started < 2
    finally:
        slow.stop()


def _sheet(workbook) -> None:
    workbook.active.title = "Berths"
    for row in (["Berth", "Fee"], ["North", 12], ["South", 9]):
        workbook.active.append(row)


@pytest.mark.parametrize("kind", ["docx", "pptx", "xlsx", "csv"])
def test_each_format_is_read_by_the_bounded_worker_as_in_process(parser, handbook, deck, kind):
    data = {
        "docx": handbook,
        "pptx": deck,
        "xlsx": files.xlsx_bytes(_sheet),
        "csv": b"Berth,Fee\nNorth,12\nSouth,9\n",
    }[kind]
    here = ingest.read_bytes(data, f"sample.{kind}")
    there = parser.read_bytes(data, f"sample.{kind}")
    assert (there.text, there.title, there.metadata) == (here.text, here.title, here.metadata)
    assert there.regions == here.regions and len(there.regions) >= 2
    with pytest.raises(IngestError, match=rf"^bad\.{kind}: ") as raised:
        parser.read_bytes(files.encrypted() if kind != "csv" else b"\xff\xfe\x00", f"bad.{kind}")
    assert "\n" not in str(raised.value)
