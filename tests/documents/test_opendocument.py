"""ODT, ODS and ODP written here as the specification lays them out: text in order,
headings, sheets and rows, slides and notes as regions, metadata; crafted files (zip
bombs, 20,000 entries, entity bombs, encrypted, truncated, repeated rows) refused in
one line, fast; each kind once through a bounded parse worker."""

from __future__ import annotations

import time

import pytest

from benchmarks.other_writers import make_odp, make_ods, make_odt, odf
from rag.core.errors import IngestError, LimitExceeded
from rag.core.locations import location_at
from rag.documents.kinds import ExtractLimits
from rag.documents.opendocument import extract_odp, extract_ods, extract_odt
from rag.documents.parsing import ParseLimits, Parser
from tests.support import hostile_zips

LIMITS = ExtractLimits()
HANDBOOK = [
    ("h1", "Scope"),
    ("p", "This handbook covers the Varnola office."),
    ("h2", "Notice"),
    ("p", "The notice period is 47 days."),
    ("list", ["Write to Kalev.", "Keep a copy."]),
    ("table", [["Item", "Price"], ["Nimbus kettle", "48 EUR"]]),
    ("h1", "Holidays"),
    ("p", "Staff get 28 days of leave."),
]


def where(found, fact: str) -> dict | None:
    return location_at(found.regions, found.text.index(fact))


def test_an_odt_keeps_its_order_headings_lists_tables_and_metadata():
    found = extract_odt(
        make_odt(HANDBOOK, title="Staff handbook", author="Mira Tamm"), "h.odt", LIMITS
    )
    assert found.text.split("\n\n")[:4] == [
        "Scope",
        "This handbook covers the Varnola office.",
        "Notice",
        "The notice period is 47 days.",
    ]
    assert "Write to Kalev.\n\nKeep a copy." in found.text
    assert "Item | Price\nNimbus kettle — Price: 48 EUR; Item: Nimbus kettle." in found.text
    assert where(found, "47 days") == {"headings": ["Scope", "Notice"]}
    assert where(found, "48 EUR") == {"headings": ["Scope", "Notice"]}
    assert where(found, "28 days") == {"headings": ["Holidays"]}
    assert found.title == "Staff handbook"
    assert found.metadata == {"format": "odt", "author": "Mira Tamm", "date": "2024-03-15"}


def test_odt_inline_markup_spaces_and_skipped_parts():
    body = (
        '<text:p>Fee:<text:s text:c="3"/>12<text:tab/>EUR <text:span>span</text:span> '
        '<text:a xlink:href="x" xmlns:xlink="http://www.w3.org/1999/xlink">link</text:a>'
        "<office:annotation><text:p>a comment</text:p></office:annotation> after"
        "<text:note><text:note-body><text:p>a footnote</text:p></text:note-body></text:note>"
        "<text:line-break/>next line</text:p>"
        '<text:s text:c="999999999999"/>'
        "<text:tracked-changes><text:p>deleted words</text:p></text:tracked-changes>"
    )
    found = extract_odt(odf("text", body), "inline.odt", LIMITS)
    assert found.text == "Fee: 12 EUR span link after\nnext line"
    assert found.title is None, "no title in meta.xml: ingest takes the first line"


def test_an_ods_gives_each_row_its_sheet_and_row_number():
    sheets = {
        "Notes": [["Read me first"]],
        "Prices": [["Item", "Price"], ["Kettle", "48 EUR"], [], ["Teapot", "19 EUR"]],
    }
    found = extract_ods(make_ods(sheets, title="Price list"), "p.ods", LIMITS)
    rows = "Kettle — Price: 48 EUR; Item: Kettle.\nTeapot — Price: 19 EUR; Item: Teapot."
    assert f"Prices\nItem; Price\n{rows}" in found.text
    assert where(found, "19 EUR") == {"sheet": "Prices", "row": 4}, "the empty row 3 counts"
    assert where(found, "48 EUR") == {"sheet": "Prices", "row": 2}
    assert where(found, "Read me") == {"sheet": "Notes", "row": 1}
    assert found.metadata["sheets"] == 2 and found.title == "Price list"


def test_repeated_empty_rows_and_cells_are_counted_not_expanded():
    tail = (
        '<table:table-row table:number-rows-repeated="1048000">'
        '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
        "<table:table-row><table:table-cell><text:p>Zed</text:p></table:table-cell>"
        '<table:table-cell table:number-columns-repeated="16000"/>'
        "<table:table-cell><text:p>late</text:p></table:table-cell></table:table-row>"
    )
    started = time.perf_counter()
    found = extract_ods(
        make_ods({"S": [["Name", "Age"], ["Ann", "31"]]}, tail=tail), "r.ods", LIMITS
    )
    assert time.perf_counter() - started < 1
    assert where(found, "Zed") == {"sheet": "S", "row": 3 + 1048000}
    assert "late" not in found.text, "columns past the first 1,024 are not read"


def test_a_repeated_non_empty_row_is_expanded_only_within_the_text_limit():
    row = '<table:table-row table:number-rows-repeated="1048576">'
    row += "<table:table-cell><text:p>same value</text:p></table:table-cell></table:table-row>"
    started = time.perf_counter()
    with pytest.raises(LimitExceeded, match=r"^r\.ods: extracted text over"):
        extract_ods(
            make_ods({"S": [["H"]]}, tail=row), "r.ods", ExtractLimits(max_text_bytes=200_000)
        )
    assert time.perf_counter() - started < 2


def test_a_repeated_non_empty_cell_is_read_in_the_first_columns_only():
    cell = '<table:table-cell table:number-columns-repeated="16384"><text:p>x</text:p>'
    rows = f"<table:table-row>{cell}</table:table-cell></table:table-row>" * 1000
    started = time.perf_counter()
    found = extract_ods(make_ods({"S": [["H"]]}, tail=rows), "r.ods", LIMITS)
    assert time.perf_counter() - started < 2
    assert found.text.count("\nx — x; H: x.") == 1000, "1,024 equal cells, said once a row"


def test_an_odp_gives_each_slide_its_number_and_reads_notes():
    slides = [
        (["Welcome", "Agenda for the day"], []),
        ([], []),
        (["Budget", "We spend 12,400 EUR."], ["Say that the printer costs 310 EUR."]),
    ]
    found = extract_odp(make_odp(slides, title="Review"), "d.odp", LIMITS)
    assert found.text.endswith("We spend 12,400 EUR.\n\nSay that the printer costs 310 EUR.")
    assert where(found, "Agenda") == {"slide": 1}
    assert where(found, "310 EUR") == {"slide": 3}, "notes belong to their slide"
    assert found.metadata["slides"] == 3


def test_too_many_slides_or_sheets_are_refused():
    few = ExtractLimits(max_pages=2)
    with pytest.raises(LimitExceeded, match="more than 2 slides"):
        extract_odp(make_odp([(["a"], [])] * 3), "d.odp", few)
    with pytest.raises(LimitExceeded, match="more than 2 sheets"):
        extract_ods(make_ods({"a": [["1"]], "b": [["2"]], "c": [["3"]]}), "s.ods", few)


MIMETYPE = ("mimetype", "application/vnd.oasis.opendocument.text")
GOOD = make_odt([("p", "Fine text.")])
HOSTILE = {
    "zip bomb": (hostile_zips.bomb(MIMETYPE, "content.xml"), LimitExceeded, "zip bomb"),
    "20,000 entries": (hostile_zips.many_entries(MIMETYPE), LimitExceeded, "10,000 parts"),
    "entity bomb": (
        hostile_zips.replaced(GOOD, "content.xml", hostile_zips.ENTITY_BOMB + "<r>&lol9;</r>"),
        IngestError,
        "entit",
    ),
    "external entity": (
        hostile_zips.replaced(GOOD, "content.xml", hostile_zips.EXTERNAL_ENTITY + "<r>&x;</r>"),
        IngestError,
        "declares XML entities",
    ),
    "encrypted": (odf("text", "<text:p>x</text:p>", encrypted=True), IngestError, "encrypted"),
    "truncated": (GOOD[: len(GOOD) // 2], IngestError, "damaged zip"),
    "not a zip": (b"just some text", IngestError, "damaged zip"),
    "no content": (hostile_zips.zip_with([MIMETYPE]), IngestError, "content.xml missing"),
    "bad xml": (hostile_zips.replaced(GOOD, "content.xml", "<a><b></a>"), IngestError, "bad XML"),
    "a spreadsheet": (make_ods({"S": [["x"]]}), IngestError, "it holds a spreadsheet"),
    "another zip": (
        hostile_zips.zip_with([("mimetype", "application/epub+zip")]),
        IngestError,
        "a zip of another kind",
    ),
    "no text": (make_odt([]), IngestError, "has no text"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_crafted_or_broken_odt_is_one_line_fast(case):
    data, error, message = HOSTILE[case]
    started = time.perf_counter()
    with pytest.raises(error) as caught:
        extract_odt(data, "bad.odt", LIMITS)
    assert time.perf_counter() - started < 2
    assert str(caught.value).startswith("bad.odt: ") and "\n" not in str(caught.value)
    assert message in str(caught.value)


def test_each_kind_through_a_bounded_worker():
    parser = Parser(ParseLimits(seconds=10, memory_mb=768, workers=1))
    try:
        odt = parser.read_bytes(make_odt(HANDBOOK, title="Staff handbook"), "h.odt")
        assert odt.title == "Staff handbook"
        assert location_at(odt.regions, odt.text.index("47 days")) == {
            "headings": ["Scope", "Notice"]
        }
        ods = parser.read_bytes(make_ods({"Prices": [["Item"], ["Kettle"]]}), "p.ods")
        assert ods.regions[-1][1] == {"sheet": "Prices", "row": 2}
        odp = parser.read_bytes(make_odp([(["One"], []), (["Two"], [])]), "d.odp")
        assert [location for _, location in odp.regions] == [{"slide": 1}, {"slide": 2}]
        with pytest.raises(LimitExceeded, match="zip bomb"):
            parser.read_bytes(HOSTILE["zip bomb"][0], "bomb.odt")
    finally:
        parser.stop()
