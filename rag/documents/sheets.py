"""Spreadsheets: Excel workbooks (openpyxl, read-only) and CSV files, one line a row, each
row saying what its values are, and each row's number as its region.

A row reads "Nimbus kettle — Price: 48 EUR; Nimbus kettle — Stock: 12; Item: Nimbus
kettle." (:func:`rag.documents.blocks.row_line`: each value after its row's first value
and its header, that pair last), with the sheet's (or file's) first non-empty row taken
as its headers: a spreadsheet keeps its headers in one row far from most of its values,
and an extractive reader needs the name and the header beside each value (why this
form: docs/formats.md). The header row itself is a line too ("Item | Price | Stock").
A sheet whose first row is data still reads, its values labelled by that row; empty
rows and cells are left out.

Regions: ``{"sheet": "Prices", "row": 14}`` (a workbook) or ``{"row": 14}`` (a CSV), the
row numbers a spreadsheet shows (1-based, the header row counted, empty rows too); a
workbook's sheet name is a line of its own at ``{"sheet": "Prices"}``. Values read as a
spreadsheet shows them: 48.0 as 48, 0.15 formatted as a percentage as 15%, a date as
2024-03-15, a formula as its last computed value (a workbook never computed by a
spreadsheet program has none: the cell is empty).

Bounds: sheets by ``limits.max_pages``, the text by ``limits.max_text_bytes`` as it
grows, and the cells visited (empty ones padded by openpyxl included) by the same number,
so that a sheet of a million empty cells ends as soon as one of sheer text would.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from rag.core.errors import IngestError, LimitExceeded
from rag.documents import ooxml
from rag.documents.blocks import LINE, TextBuilder, one_line, row_line
from rag.documents.formats import Extracted, unreadable
from rag.documents.kinds import ExtractLimits

WORKBOOK = "Excel workbook"
CSV = "CSV file"
#: The first bytes of a CSV looked at to guess its delimiter.
SNIFF_BYTES = 16 * 1024
DELIMITERS = ",;\t|"


def show(value: object, number_format: str = "General") -> str:
    """A cell's value as a spreadsheet shows it (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if "%" in (number_format or ""):
            return f"{value * 100:.10g}%"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M" + (":%S" if value.second else ""))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M" + (":%S" if value.second else ""))
    return one_line(str(value))


class _Cells:
    """Cells visited so far, against a budget (see the module docstring)."""

    def __init__(self, name: str, most: int) -> None:
        self.name, self.most, self.seen = name, most, 0

    def visit(self, count: int) -> None:
        self.seen += max(count, 1)
        if self.seen > self.most:
            raise LimitExceeded(f"{self.name}: more than {self.most:,} cells")


def _add_rows(rows, text: TextBuilder, where: dict, cells: _Cells, heading: str = "") -> int:
    """Append ``rows`` (``(number, values)``, values already shown), the first non-empty
    one as the headers, after ``heading`` (only if a row has values). Regions ``where``
    plus the row's number; the rows added."""
    headers: list[str] | None = None
    added = 0
    for number, values in rows:
        cells.visit(len(values))
        if not any(values):
            continue
        location = {**where, "row": number}
        if headers is None:
            text.add(heading, where or None)
            headers = values
            line = " | ".join(h for h in headers if h)
        else:
            line = row_line(headers, values)
        added += text.add(line, location, LINE)
    return added


def _sheet_rows(sheet):
    """(row number, shown values) of a read-only sheet, its declared size ignored (a
    crafted ``A1:XFD1048576`` would make openpyxl pad every row to 16,384 cells)."""
    sheet.reset_dimensions()
    for number, row in enumerate(sheet.iter_rows(), 1):
        yield number, [show(cell.value, getattr(cell, "number_format", "General")) for cell in row]


def _workbook_text(workbook, name: str, limits: ExtractLimits) -> TextBuilder:
    """The text of every worksheet (chart sheets have none), each after its name."""
    if len(workbook.sheetnames) > limits.max_pages:
        raise LimitExceeded(
            f"{name}: more than {limits.max_pages:,} sheets ({len(workbook.sheetnames):,})"
        )
    text = TextBuilder(name, limits.max_text_bytes)
    cells = _Cells(name, limits.max_text_bytes)
    for sheet in workbook.worksheets:
        title = one_line(sheet.title)
        _add_rows(_sheet_rows(sheet), text, {"sheet": title}, cells, heading=title)
    return text


def extract_xlsx(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """A workbook's rows sheet by sheet, its title (the core properties', else the file
    name), author, date and sheet count; a region at every row."""
    zf = ooxml.open_package(data, name, limits, ".xls")
    title, metadata = ooxml.core_properties(zf, name, "xlsx")
    try:
        import openpyxl

        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            text = _workbook_text(workbook, name, limits)
            metadata["sheets"] = len(workbook.sheetnames)
        finally:
            workbook.close()
    except (IngestError, MemoryError):
        raise
    except Exception as exc:  # openpyxl's errors, and what crafted files make of it
        raise unreadable(name, WORKBOOK, exc) from None
    if not len(text):
        raise IngestError(f"{name}: the {WORKBOOK} has no values")
    return Extracted(text.value, title or Path(name).stem or None, metadata, text.regions)


def _delimiter(text: str, name: str) -> str:
    """Tab for a .tsv; else what :class:`csv.Sniffer` finds in the first lines among
    ``,;<tab>|``, a comma when it finds none (a file of one column)."""
    if name.lower().endswith(".tsv"):
        return "\t"
    sample = text[:SNIFF_BYTES]
    if len(text) > SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def extract_csv(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """A CSV (or TSV) file's rows, the first non-empty one its headers; a region
    ``{"row": n}`` at every row. UTF-8 only (with or without a BOM)."""
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start}): save it as CSV UTF-8"
        ) from None
    if "\x00" in raw:
        raise IngestError(f"{name}: binary file, expected CSV text")
    text = TextBuilder(name, limits.max_text_bytes)
    reader = csv.reader(io.StringIO(raw, newline=""), delimiter=_delimiter(raw, name))
    rows = ((n, [one_line(v) for v in record]) for n, record in enumerate(reader, 1))
    try:
        count = _add_rows(rows, text, {}, _Cells(name, limits.max_text_bytes))
    except csv.Error as exc:
        raise IngestError(f"{name}: not a readable {CSV} (line {reader.line_num}: {exc})") from None
    if not count:
        raise IngestError(f"{name}: the {CSV} has no values")
    metadata = {"format": "csv", "rows": count}
    return Extracted(text.value, Path(name).stem or None, metadata, text.regions)
