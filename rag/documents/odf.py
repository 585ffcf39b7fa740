"""The parts of an OpenDocument file every ODF extractor reads: the zip opened within the
limits, ``content.xml``'s body, ``meta.xml``'s title, author and date, and the running
text of paragraphs, headings, lists and tables (:mod:`rag.documents.opendocument`).

The XML is read with lxml through :mod:`rag.documents.archive`: the zip's directory is
checked before anything is unpacked, and the XML parsed with entities, DTDs and the
network off. Trees are walked iteratively (:func:`rag.documents.markup.walk`), so a
deeply nested file cannot exhaust the stack.
"""

from __future__ import annotations

import re
import zipfile

from rag.core.errors import IngestError
from rag.documents import archive
from rag.documents.blocks import row_line
from rag.documents.kinds import ExtractLimits
from rag.documents.markup import Blocks, local, parse_xml, walk

NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "presentation": "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "manifest": "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0",
}
LABELS = {
    "text": "OpenDocument text",
    "spreadsheet": "OpenDocument spreadsheet",
    "presentation": "OpenDocument presentation",
}
#: The XML elements whose text is not the running text.
_SKIP = {
    f"{{{NS[prefix]}}}{name}"
    for prefix, name in (
        ("office", "annotation"),
        ("office", "annotation-end"),
        ("office", "forms"),
        ("text", "tracked-changes"),
        ("text", "note"),
        ("text", "sequence-decls"),
        ("text", "bookmark-ref"),
        ("presentation", "notes"),
        ("draw", "page-thumbnail"),
    )
}
#: The most spaces one ``text:s`` may stand for (it says how many: a crafted file says
#: billions).
MAX_SPACES = 64


def q(prefix: str, name: str) -> str:
    """An element's or attribute's qualified name: ``q("text", "p")``."""
    return f"{{{NS[prefix]}}}{name}"


P, H, ROW, CELL = q("text", "p"), q("text", "h"), q("table", "table-row"), q("table", "table-cell")


def inline(element) -> str:
    """The text of a paragraph or cell: spans, links and fields as they read, ``text:s``
    as its spaces, tabs and line breaks as such; a paragraph nested in it (a text box)
    on a line of its own."""
    out: list[str] = []

    def descend(node) -> bool:
        return node.tag not in _SKIP

    for starting, node in walk(element, descend):
        if not starting:
            if node is not element and node.tail:
                out.append(node.tail)
            continue
        if node.tag in _SKIP or not isinstance(node.tag, str):
            continue
        name = local(node.tag)
        if name == "s":
            count = node.get(q("text", "c"), "1")
            out.append(" " * min(int(count) if count.isdigit() else 1, MAX_SPACES))
        elif name == "tab":
            out.append("\t")
        elif name == "line-break" or (node is not element and node.tag in (P, H)):
            out.append("\n")
        if node.text:
            out.append(node.text)
    return "".join(out)


def row_cells(row) -> list[str]:
    """The cells' texts of a table row, each on one line."""
    return [
        " ".join(inline(cell).split())
        for cell in row
        if cell.tag in (CELL, q("table", "covered-table-cell"))
    ]


def body_blocks(root, blocks: Blocks, headings: bool = True) -> None:
    """Paragraphs, headings (with ``headings``; else as paragraphs), lists and table rows
    under ``root`` into ``blocks``, in document order."""
    header: list[str] = []

    def descend(node) -> bool:
        return node.tag not in _SKIP and node.tag not in (P, H, ROW)

    for starting, node in walk(root, descend):
        if not starting:
            if node.tag == q("table", "table"):
                header = []
            continue
        if node.tag == H and headings:
            level = node.get(q("text", "outline-level"), "1")
            blocks.heading(min(int(level), 10) if level.isdigit() else 1, inline(node))
        elif node.tag in (P, H):
            blocks.add(inline(node))
        elif node.tag == ROW:
            cells = row_cells(node)
            if not header:
                header = cells
                blocks.add(" | ".join(c for c in cells if c))
            else:
                blocks.add(row_line(header, cells), gap="\n")


def open_document(data: bytes, name: str, limits: ExtractLimits, kind: str):
    """The zip, its ``content.xml`` and its ``office:body`` child of ``kind``; an
    encrypted file, another ODF type or a file that is no ODF at all is one line."""
    label = LABELS[kind]
    zf = archive.open_zip(data, name, limits)
    if archive.has_member(zf, "mimetype"):
        mimetype = archive.read_member(zf, "mimetype", name)[:100].decode("ascii", "replace")
        if not mimetype.startswith("application/vnd.oasis.opendocument."):
            raise IngestError(f"{name}: not an {label} (a zip of another kind: {mimetype!r})")
    if archive.has_member(zf, "META-INF/manifest.xml"):
        manifest = parse_xml(archive.read_member(zf, "META-INF/manifest.xml", name), name)
        if manifest.find(f".//{q('manifest', 'encryption-data')}") is not None:
            raise IngestError(f"{name}: the {label} is encrypted (password-protected)")
    content = parse_xml(archive.read_member(zf, "content.xml", name), name)
    body = content.find(q("office", "body"))
    found = body.find(q("office", kind)) if body is not None else None
    if found is None:
        other = [local(child.tag) for child in (body if body is not None else ())]
        holds = f" (it holds a {other[0]})" if other else ""
        raise IngestError(f"{name}: not an {label}{holds}")
    return zf, found


def read_meta(zf: zipfile.ZipFile, name: str, kind: str) -> tuple[str | None, dict]:
    """The title in ``meta.xml``, and the author and date as metadata."""
    metadata: dict = {"format": {"text": "odt", "spreadsheet": "ods"}.get(kind, "odp")}
    if not archive.has_member(zf, "meta.xml"):
        return None, metadata
    meta = parse_xml(archive.read_member(zf, "meta.xml", name), name)

    def first(*paths: tuple[str, str]) -> str:
        for prefix, field in paths:
            element = meta.find(f".//{q(prefix, field)}")
            if element is not None and " ".join("".join(element.itertext()).split()):
                return " ".join("".join(element.itertext()).split())[:500]
        return ""

    author = first(("dc", "creator"), ("meta", "initial-creator"))
    date = first(("meta", "creation-date"), ("dc", "date"))
    if author:
        metadata["author"] = author
    if re.match(r"\d{4}-\d{2}-\d{2}", date):
        metadata["date"] = date[:10]
    return first(("dc", "title")) or None, metadata
