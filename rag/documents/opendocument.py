"""OpenDocument text, spreadsheets and presentations (ODT, ODS, ODP), read from their XML.

An ODF file is a zip of XML parts; ``content.xml`` holds the body and ``meta.xml`` the
title, author and dates. No well-kept, permissively licensed ODF reader exists for Python
(odfpy is GPL/LGPL/Apache-licensed but little maintained, and builds a DOM of every node),
and the part we need is small, so the XML is read with lxml (:mod:`rag.documents.odf`),
within the zip and XML bounds of :mod:`rag.documents.archive`.

What each gives a citation (its regions):

* ODT: the heading path (``text:h`` and its outline level): ``{"headings": [...]}``;
  paragraphs, lists and table rows in document order. Footnotes, comments and tracked
  deletions are left out (they are not the running text).
* ODS: each sheet's non-empty rows as lines ("Kettle — Price: 48 EUR; Item: Kettle."; the
  sheet's first non-empty row names the columns), ``{"sheet": "Prices", "row": 14}``
  with the row number a spreadsheet shows (:mod:`rag.documents.odf_sheets`).
* ODP: each slide's text, then its speaker notes: ``{"slide": 2}``.

A password-protected file (its manifest lists ``encryption-data``) is refused in one
line, as is a file of another ODF type under the suffix (a spreadsheet named ``.odt``).
"""

from __future__ import annotations

from rag.core.errors import IngestError, LimitExceeded
from rag.documents.formats import Extracted
from rag.documents.kinds import ExtractLimits
from rag.documents.markup import Blocks
from rag.documents.odf import LABELS, body_blocks, open_document, q, read_meta
from rag.documents.odf_sheets import sheets_blocks


def _done(blocks: Blocks, name: str, label: str, title: str | None, metadata: dict):
    if not blocks.value:
        raise IngestError(f"{name}: the {label} has no text")
    return Extracted(blocks.value, title, metadata, blocks.regions)


def extract_odt(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """An OpenDocument text: its paragraphs, lists and tables, regions at its headings."""
    zf, text = open_document(data, name, limits, "text")
    blocks = Blocks(name, limits.max_text_bytes)
    body_blocks(text, blocks)
    title, metadata = read_meta(zf, name, "text")
    return _done(blocks, name, LABELS["text"], title, metadata)


def extract_odp(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """An OpenDocument presentation: each slide's text, then its notes; ``{"slide": n}``."""
    zf, deck = open_document(data, name, limits, "presentation")
    slides = deck.findall(q("draw", "page"))
    if len(slides) > limits.max_pages:
        raise LimitExceeded(f"{name}: more than {limits.max_pages} slides ({len(slides)})")
    blocks = Blocks(name, limits.max_text_bytes)
    for number, slide in enumerate(slides, 1):
        blocks.mark({"slide": number})
        body_blocks(slide, blocks, headings=False)
        for notes in slide.iter(q("presentation", "notes")):
            body_blocks(notes, blocks, headings=False)
    title, metadata = read_meta(zf, name, "presentation")
    metadata["slides"] = len(slides)
    return _done(blocks, name, LABELS["presentation"], title, metadata)


def extract_ods(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """An OpenDocument spreadsheet: each sheet's rows; ``{"sheet": name, "row": n}``."""
    zf, book = open_document(data, name, limits, "spreadsheet")
    blocks = Blocks(name, limits.max_text_bytes)
    count = sheets_blocks(book, blocks, limits)
    title, metadata = read_meta(zf, name, "spreadsheet")
    metadata["sheets"] = count
    return _done(blocks, name, LABELS["spreadsheet"], title, metadata)
