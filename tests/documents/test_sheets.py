"""Workbooks (openpyxl, read-only) and CSV files in: one line a row, each value beside its
row's key and header, the spreadsheet's own row numbers as regions, values as a
spreadsheet shows them; crafted sheets bounded, bad files one line (issue 37)."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from rag.core.errors import IngestError, LimitExceeded
from rag.documents import sheets
from rag.documents.kinds import ExtractLimits
from tests.support import office as files

LIMITS = ExtractLimits()


def _shop(workbook) -> None:
    notes = workbook.active
    notes.title = "Notes"
    notes.append(["Prices are checked every Monday."])
    workbook.create_sheet("Empty")
    prices = workbook.create_sheet("Prices")
    prices.append([])  # row 1 empty: the headers are row 2
    prices.append(["Item", "Price", "Since", "Share", "In stock"])
    prices.append(["Nimbus kettle", 48.0, dt.date(2024, 3, 15), 0.15, True])
    prices["D3"].number_format = "0%"
    prices.append([])
    prices.append(["Varn lamp", 19.5, dt.datetime(2024, 3, 15, 14, 30), None, False])
    workbook.properties.creator, workbook.properties.title = "Mira Tamm", ""


@pytest.fixture(scope="module")
def shop() -> bytes:
    return files.xlsx_bytes(_shop)


def test_a_workbook_reads_sheet_by_sheet_each_row_with_its_key_and_headers(shop):
    found = sheets.extract_xlsx(shop, "uploads/shop.xlsx", LIMITS)
    assert found.text == (
        "Notes\nPrices are checked every Monday.\n\n"
        "Prices\nItem | Price | Since | Share | In stock\n"
        "Nimbus kettle — Price: 48; Nimbus kettle — Since: 2024-03-15; Nimbus kettle — "
        "Share: 15%; Nimbus kettle — In stock: TRUE; Item: Nimbus kettle.\n"
        "Varn lamp — Price: 19.5; Varn lamp — Since: 2024-03-15 14:30; Varn lamp — "
        "In stock: FALSE; Item: Varn lamp."
    ), "the empty sheet and the empty rows are left out"
    text = found.text
    assert found.regions == [
        (0, {"sheet": "Notes"}),
        (6, {"sheet": "Notes", "row": 1}),
        (text.index("Prices\n"), {"sheet": "Prices"}),
        (text.index("Item |"), {"sheet": "Prices", "row": 2}),
        (text.index("Nimbus"), {"sheet": "Prices", "row": 3}),
        (text.index("Varn"), {"sheet": "Prices", "row": 5}),
    ], "the spreadsheet's own row numbers"
    assert found.title == "shop", "no title in the properties: the file's name"
    assert found.metadata["format"] == "xlsx" and found.metadata["sheets"] == 3
    assert found.metadata["author"] == "Mira Tamm"


@pytest.mark.parametrize(
    ("value", "number_format", "shown"),
    [
        (None, "General", ""),
        (3.0, "General", "3"),
        (0.1 + 0.2, "General", "0.3"),
        (1234567.25, "#,##0.00", "1234567.25"),
        (0.075, "0.0%", "7.5%"),
        (42, "General", "42"),
        (True, "General", "TRUE"),
        (dt.datetime(2024, 1, 2, 3, 4, 5), "General", "2024-01-02 03:04:05"),
        (dt.time(9, 30), "General", "09:30"),
        ("  two\nlines ", "General", "two lines"),
    ],
)
def test_values_read_as_a_spreadsheet_shows_them(value, number_format, shown):
    assert sheets.show(value, number_format) == shown


def _declared(size: str):
    def edit(xml: bytes) -> bytes:
        return xml.replace(b'<dimension ref="A1:B3"/>', f'<dimension ref="{size}"/>'.encode())

    return edit


def _three_rows(workbook) -> None:
    for row in (["Berth", "Fee"], ["North", 12], ["South", 9]):
        workbook.active.append(row)


def test_a_declared_size_of_a_whole_sheet_is_ignored_and_cells_are_bounded():
    data = files.xlsx_bytes(_three_rows)
    huge = files.rewrite(data, {"xl/worksheets/sheet1.xml": _declared("A1:XFD1048576")})
    started = time.perf_counter()
    assert sheets.extract_xlsx(huge, "huge.xlsx", LIMITS).text == (
        sheets.extract_xlsx(data, "plain.xlsx", LIMITS).text
    )
    assert time.perf_counter() - started < 2, "no row padded to 16,384 cells"

    def far(workbook) -> None:  # each row's one value in the last column
        for row in range(1, 400):
            workbook.active.cell(row=row, column=16_384, value=row)

    with pytest.raises(LimitExceeded, match=r"^far\.xlsx: more than 1,000,000 cells$"):
        sheets.extract_xlsx(files.xlsx_bytes(far), "far.xlsx", ExtractLimits(max_text_bytes=10**6))


def test_sheets_and_text_past_their_limits_are_refused_naming_them(shop):
    with pytest.raises(LimitExceeded, match=r"^shop\.xlsx: more than 2 sheets \(3\)$"):
        sheets.extract_xlsx(shop, "shop.xlsx", ExtractLimits(max_pages=2))

    def big(workbook) -> None:
        workbook.active.append(["Item", "Note"])
        for i in range(2000):
            workbook.active.append([f"item {i}", "a note of some length " * 4])

    small = ExtractLimits(max_text_bytes=1 << 16)
    with pytest.raises(LimitExceeded, match=r"^big\.xlsx: extracted text over 0\.0625 MB$"):
        sheets.extract_xlsx(files.xlsx_bytes(big), "big.xlsx", small)


def test_an_empty_workbook_is_one_line():
    with pytest.raises(IngestError, match=r"^empty\.xlsx: the Excel workbook has no values$"):
        sheets.extract_xlsx(files.xlsx_bytes(lambda w: None), "empty.xlsx", LIMITS)


def test_a_csv_reads_each_row_with_its_header_and_the_spreadsheet_row_number():
    data = (
        "\ufeffName;City;Note\r\nAlice;Tartu;first\r\n\r\n"
        '"Bob, Jr";Pärnu;"two\r\nlines"\r\n;;\r\nCarl;;\r\n'
    ).encode()
    found = sheets.extract_csv(data, "people.csv", LIMITS)
    assert found.text == (
        "Name | City | Note\n"
        "Alice — City: Tartu; Alice — Note: first; Name: Alice.\n"
        "Bob, Jr — City: Pärnu; Bob, Jr — Note: two lines; Name: Bob, Jr.\n"
        "Name: Carl"
    ), "sniffed ';', the BOM dropped, a quoted line break one row"
    text = found.text
    assert found.regions == [
        (0, {"row": 1}),
        (text.index("Alice"), {"row": 2}),
        (text.index("Bob"), {"row": 4}),
        (text.index("Name: Carl"), {"row": 6}),
    ], "an empty line is a row, as a spreadsheet shows it"
    assert found.title == "people" and found.metadata == {"format": "csv", "rows": 4}


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"Berth,Fee\nNorth,12\n", "berths.csv"),
        (b"Berth\tFee\nNorth\t12\n", "berths.csv"),
        (b"Berth|Fee\nNorth|12\n", "berths.csv"),
        (b"Berth\tFee\nNorth\t12\n", "berths.tsv"),
    ],
)
def test_the_delimiter_is_sniffed_and_a_tsv_is_tab_separated(data, name):
    found = sheets.extract_csv(data, name, LIMITS)
    assert found.text == "Berth | Fee\nNorth — Fee: 12; Berth: North."


def test_a_single_column_csv_falls_back_to_commas():
    found = sheets.extract_csv(b"Berth\nNorth\nSouth\n", "berths.csv", LIMITS)
    assert found.text == "Berth\nBerth: North\nBerth: South"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("Name,City\nJosé,Tartu\n".encode("latin-1"), r"not UTF-8 text \(invalid continuation"),
        (b"Name,City\nA,\x00B\n", "binary file, expected CSV text"),
        (b'Name,City\n"' + b"x" * 200_000 + b'",Tartu\n', r"not a readable CSV file \(line"),
        (b'Name,City\n"open' + b" quote" * 30_000, r"not a readable CSV file \(line 2: field"),
        (b"\n\n,,\n", "the CSV file has no values"),
    ],
)
def test_a_bad_csv_is_one_line(data, says):
    with pytest.raises(IngestError, match=rf"^bad\.csv: {says}") as raised:
        sheets.extract_csv(data, "bad.csv", LIMITS)
    assert "\n" not in str(raised.value)


def test_an_unclosed_quote_runs_to_the_end_of_the_file_as_a_spreadsheet_reads_it():
    found = sheets.extract_csv(b'Name,City\nAda,"Tartu\nBob,Parnu\n', "open.csv", LIMITS)
    assert found.text == "Name | City\nAda — City: Tartu Bob,Parnu; Name: Ada."


def test_a_csv_past_the_text_limit_is_refused_as_it_is_read():
    data = b"Item,Note\n" + b"item,a note of some length\n" * 20_000
    with pytest.raises(LimitExceeded, match=r"^big\.csv: extracted text over 0\.0625 MB$"):
        sheets.extract_csv(data, "big.csv", ExtractLimits(max_text_bytes=1 << 16))
