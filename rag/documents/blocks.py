"""The stored text of a structured file (a Word document, a deck, a workbook, a CSV),
built block by block with its regions, and bounded in size as it grows.

Extractors of structured files all do the same thing: tidy a paragraph, a row or a
slide's text, append it after a separator, remember where a slide, sheet row or heading
section starts (a region, :mod:`rag.core.locations`), and stop as soon as the text
passes the size limit, not after building gigabytes of it. One builder does it for
all of them, so that offsets and regions cannot drift apart.

A paragraph is a block of its own (a blank line before it); a table row or a sheet row
is a line (one line break before it): the chunker ends a sentence at every line break,
so a row never runs into the next one.

Usage::

    text = TextBuilder("deck.pptx", limits.max_text_bytes)
    text.add("Quarterly review", {"slide": 1})
    text.add("Revenue: 4 M€", gap="\\n")
    text.value, text.regions
"""

from __future__ import annotations

from rag.core.errors import LimitExceeded
from rag.documents.formats import _tidy, megabytes

PARAGRAPH = "\n\n"
LINE = "\n"
#: A row's key longer than this (a description, not a name) is not repeated.
MAX_KEY_CHARS = 60


def one_line(value: str) -> str:
    """A cell's or a heading's text on one line: its line breaks and runs of white space
    become one space (a cell of several paragraphs is still one row)."""
    return " ".join(_tidy(value).split())


def _labelled(header: str, value: str) -> str:
    return f"{header}: {value}" if header and header != value else value


def row_line(headers: list[str], values: list[str]) -> str:
    """A table or sheet row as a line its first value (the row's key) names, every other
    value after the key and its header, the key's own pair last: "Nimbus kettle — Price:
    48 EUR; Nimbus kettle — Supplier: Varn Ltd; Product: Nimbus kettle." Empty cells are
    left out; a header and value equal to the previous pair (a merged cell) said once; a
    key over :data:`MAX_KEY_CHARS` is not repeated.

    Why: an extractive reader takes the value nearest the name it is asked about. From
    "Product: Nimbus kettle; Price: 48 EUR; …" lines it often took the value that ends
    the row above, next to the name; here each value follows its row's key, and the
    row ends with its own key, apart from the next one. On 50 questions about made-up
    registers (25 XLSX, 25 CSV; benchmarks/samples_office.py, seed 1) the packaged reader
    answered 13 from "Header: value; …" lines, 42 with the key before each value, 47
    with it also last (docs/formats.md)."""
    pairs: list[tuple[str, str]] = []
    for i, value in enumerate(values):
        header = headers[i] if i < len(headers) else ""
        if value and (not pairs or (header, value) != pairs[-1]):
            pairs.append((header, value))
    if not pairs:
        return ""
    (key_header, key), rest = pairs[0], pairs[1:]
    if not rest:
        return _labelled(key_header, key)
    named = f"{key} — " if len(key) <= MAX_KEY_CHARS else ""
    line = "; ".join([named + _labelled(h, v) for h, v in rest] + [_labelled(key_header, key)])
    return line if line.endswith((".", "!", "?")) else line + "."


def _pair(row: list[str]) -> str:
    """A two-cell row as "key: value" (either alone when the other is empty)."""
    key, value = [*row, "", ""][:2]
    return f"{key}: {value}" if key and value else key or value


def _header_like(row: list[str]) -> bool:
    return all(row) and not any(ch.isdigit() for cell in row for ch in cell)


def table_text(rows: list[list[str]], header_marked: bool = False) -> str:
    """A table (rows of one-line cell texts) as lines: its first row as headers and each
    other row as :func:`row_line`, when that row reads as headers (marked as such, or at
    least three columns of words without digits); a two-column table without one as
    "key: value" lines (a form: "Policy number: 4471"); anything else as cells joined by
    " | "."""
    rows = [row for row in rows if any(row)]
    if not rows:
        return ""
    columns = max(len(row) for row in rows)
    if len(rows) > 1 and (header_marked or columns >= 3) and _header_like(rows[0]):
        headers = rows[0]
        lines = [" | ".join(h for h in headers if h)]
        return "\n".join(lines + [row_line(headers, row) for row in rows[1:]])
    if columns == 2:
        return "\n".join(_pair(row) for row in rows)
    return "\n".join(" | ".join(cell for cell in row if cell) for row in rows)


class TextBuilder:
    """A document's text and regions, appended block by block; a
    :class:`~rag.core.errors.LimitExceeded` as soon as it passes ``max_bytes`` (UTF-8)."""

    def __init__(self, name: str, max_bytes: int | None) -> None:
        self.name = name
        self.max_bytes = max_bytes
        self._parts: list[str] = []
        self._length = 0
        self._size = 0
        self.regions: list[tuple[int, dict]] = []

    def __len__(self) -> int:
        return self._length

    @property
    def value(self) -> str:
        return "".join(self._parts)

    def add(self, block: str, location: dict | None = None, gap: str = PARAGRAPH) -> bool:
        """Append ``block`` (tidied; nothing if it is empty) after ``gap``, starting a
        region at it when ``location`` differs from the last region's; True if anything
        was added."""
        block = _tidy(block)
        if not block:
            return False
        if self._parts:
            self._parts.append(gap)
            self._length += len(gap)
        if location is not None and (not self.regions or self.regions[-1][1] != location):
            self.regions.append((self._length, location))
        self._parts.append(block)
        self._length += len(block)
        self._size += len(block.encode("utf-8")) + len(gap)
        if self.max_bytes is not None and self._size > self.max_bytes:
            raise LimitExceeded(f"{self.name}: extracted text over {megabytes(self.max_bytes)} MB")
        return True
