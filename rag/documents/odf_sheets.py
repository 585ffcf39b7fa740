"""The sheets of an OpenDocument spreadsheet as rows of text, each with its sheet and row.

ODS compresses runs of equal rows and cells: ``table:number-rows-repeated="1048576"``
and ``table:number-columns-repeated="16384"`` are ordinary (LibreOffice writes them for
the formatted but empty rest of a sheet), and a crafted file can repeat a non-empty cell
as often. Empty runs are counted, never expanded, so row numbers stay those the
spreadsheet shows; a non-empty run is expanded only while the text stays within the
size limit (a :class:`~rag.core.errors.LimitExceeded` past it), and only the first
:data:`MAX_COLUMNS` columns of a row are read.

Each non-empty row after the first is a line as every sheet row of the service is
("Nimbus kettle — Price: 48 EUR; Product: Nimbus kettle.",
:func:`rag.documents.blocks.row_line`), the sheet's first non-empty row naming the
columns, with the location ``{"sheet": "Prices", "row": 14}``.
"""

from __future__ import annotations

from rag.core.errors import LimitExceeded
from rag.documents.blocks import row_line
from rag.documents.kinds import ExtractLimits
from rag.documents.markup import Blocks
from rag.documents.odf import inline, q

#: Columns read of a row (a sheet has 16,384 at most; a table of text far fewer).
MAX_COLUMNS = 1024
#: The most a repeat count is believed (a sheet has 1,048,576 rows at most).
MAX_REPEAT = 1 << 20
CELLS = (q("table", "table-cell"), q("table", "covered-table-cell"))
#: Where a cell holds its value when it has no text paragraph.
VALUES = [q("office", name) for name in ("string-value", "value", "date-value", "boolean-value")]


def repeat(element, attribute: str) -> int:
    value = element.get(q("table", attribute), "1")
    return min(int(value), MAX_REPEAT) if value.isdigit() and int(value) > 0 else 1


def cell_text(cell) -> str:
    """What a cell shows: its paragraphs on one line, else its typed value."""
    text = " ".join(inline(cell).split())
    if text:
        return text
    return next((" ".join(v.split()) for a in VALUES if (v := cell.get(a))), "")


def row_values(row, blocks: Blocks) -> list[str]:
    """The row's cell texts by column ("" for empty ones, none past the last non-empty
    one), repeats expanded within :data:`MAX_COLUMNS`."""
    values: list[str] = []
    column = 0
    for cell in row:
        if column >= MAX_COLUMNS:
            break
        if cell.tag not in CELLS:
            continue
        times = repeat(cell, "number-columns-repeated")
        text = cell_text(cell)
        if text:
            values.extend([""] * (column - len(values)))
            values.extend([text] * min(times, MAX_COLUMNS - column))
        column += times
    return values


def sheet_blocks(table, blocks: Blocks) -> None:
    """One sheet's rows into ``blocks``, the sheet's name first."""
    sheet = " ".join((table.get(q("table", "name")) or "").split())[:200] or "Sheet"
    blocks.add(sheet, {"sheet": sheet})
    number, header = 0, None
    for row in table.iter(q("table", "table-row")):
        times = repeat(row, "number-rows-repeated")
        values = row_values(row, blocks)
        if not values:
            number += times
            continue
        for _ in range(times):
            number += 1
            if header is None:
                header = values
                blocks.add("; ".join(v for v in values if v), {"sheet": sheet, "row": number}, "\n")
            else:
                line = row_line(header, values)
                blocks.add(line, {"sheet": sheet, "row": number}, "\n")


def sheets_blocks(book, blocks: Blocks, limits: ExtractLimits) -> int:
    """Every sheet of ``book`` (``office:spreadsheet``) into ``blocks``; how many."""
    tables = book.findall(q("table", "table"))
    if len(tables) > limits.max_pages:
        raise LimitExceeded(f"{blocks.name}: more than {limits.max_pages} sheets ({len(tables)})")
    for table in tables:
        sheet_blocks(table, blocks)
    return len(tables)
