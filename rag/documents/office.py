"""Word documents (python-docx) and PowerPoint decks (python-pptx): their text in reading
order, with the heading path or slide number of every part as its region.

A Word document is paragraphs and tables in document order: each paragraph a block, each
table a block of one line a row (:func:`rag.documents.blocks.table_text`). A paragraph in
a heading style (Title, Heading 1-9, or any style or paragraph with an outline level)
starts a region ``{"headings": [...]}``: the path of headings above it, Title counting as
a first-level heading. A deck is slide by slide: the title first, then the other shapes'
text and tables in the slide's order (groups opened), then the speaker notes; each slide
with text starts a region ``{"slide": n}``, n the slide's number in the deck.

Both files are checked before the library opens them (:func:`ooxml.open_package`: old
binary and encrypted files, zip bombs, DTDs), a deck's slides are counted from its zip
directory against ``limits.max_pages`` before any is parsed, and the text is bounded as
it grows. Any exception of the libraries is one line (:func:`formats.unreadable`).
"""

from __future__ import annotations

import io
import re

from rag.core.errors import IngestError, LimitExceeded
from rag.documents import ooxml
from rag.documents.blocks import TextBuilder, one_line, table_text
from rag.documents.formats import Extracted, unreadable
from rag.documents.kinds import ExtractLimits

WORD = "Word document"
DECK = "PowerPoint presentation"
_HEADING_STYLE = re.compile(r"^heading ([1-9])$", re.I)
_SLIDE_PART = re.compile(r"(?:^|/)slides/slide\d+\.xml$")
#: Groups inside groups are opened this deep (a crafted deck nests them without end).
MAX_GROUP_DEPTH = 16


def _outline_level(element) -> int | None:
    """The heading level (1-9) of a ``w:outlineLvl`` in ``element``'s properties."""
    found = element.xpath("./w:pPr/w:outlineLvl/@w:val")
    if found and str(found[0]).isdigit() and int(found[0]) < 9:
        return int(found[0]) + 1
    return None


def _heading_levels(document) -> dict[str, int]:
    """Style id → heading level, for every paragraph style that is a heading."""
    from docx.enum.style import WD_STYLE_TYPE

    levels: dict[str, int] = {}
    for style in document.styles:
        if style.type != WD_STYLE_TYPE.PARAGRAPH or not style.style_id:
            continue
        name = (style.name or "").strip()
        match = _HEADING_STYLE.match(name)
        level = int(match.group(1)) if match else 1 if name.lower() == "title" else None
        level = level or _outline_level(style.element)
        if level:
            levels[style.style_id] = level
    return levels


def _docx_table(table) -> str:
    """A Word table as lines (merged cells are repeated by python-docx: said once)."""
    rows = [[one_line(cell.text) for cell in row.cells] for row in table.rows]
    marked = bool(table._tbl.xpath("./w:tr[1]/w:trPr/w:tblHeader"))
    return table_text(rows, header_marked=marked)


def _docx_body(document, text: TextBuilder) -> str:
    """Append the document's paragraphs and tables in order; its first heading."""
    from docx.table import Table

    levels = _heading_levels(document)
    path: list[tuple[int, str]] = []
    first = ""
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            text.add(_docx_table(block))
            continue
        style = block._p.style
        level = _outline_level(block._p) or levels.get(style or "")
        heading = one_line(block.text) if level else ""
        if heading:
            path = [(lv, t) for lv, t in path if lv < level] + [(level, heading)]
            first = first or heading
            text.add(heading, {"headings": [t for _, t in path]})
        else:
            text.add(block.text)
    return first


def extract_docx(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """A Word document's text (paragraphs and tables in order), its title (the core
    properties', else the first heading), author and date, and its heading regions."""
    zf = ooxml.open_package(data, name, limits, ".doc")
    title, metadata = ooxml.core_properties(zf, name, "docx")
    text = TextBuilder(name, limits.max_text_bytes)
    try:
        import docx

        first = _docx_body(docx.Document(io.BytesIO(data)), text)
    except (IngestError, MemoryError):
        raise
    except Exception as exc:  # python-docx's errors, and what crafted files make of it
        raise unreadable(name, WORD, exc) from None
    if not len(text):
        raise IngestError(f"{name}: the {WORD} has no text")
    return Extracted(text.value, title or first or None, metadata, text.regions)


def _shape_blocks(shape, depth: int = 0) -> list[str]:
    """A shape's text: a text frame's paragraphs one a line (a soft line break too), a
    table's rows, a group's shapes in order; pictures and charts have none."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        if depth >= MAX_GROUP_DEPTH:
            return []
        return [block for inner in shape.shapes for block in _shape_blocks(inner, depth + 1)]
    if getattr(shape, "has_table", False):
        rows = [[one_line(cell.text) for cell in row.cells] for row in shape.table.rows]
        return [table_text(rows, header_marked=shape.table.first_row)]
    if shape.has_text_frame:
        return [shape.text_frame.text.replace("\v", "\n")]
    return []


def _slide(slide, number: int, text: TextBuilder) -> str:
    """Append one slide (title, shapes, notes) at a region ``{"slide": number}``; its
    title."""
    location = {"slide": number}
    title_shape = slide.shapes.title
    title = one_line(title_shape.text_frame.text) if title_shape is not None else ""
    text.add(title, location)
    for shape in slide.shapes:
        if title_shape is None or shape.element is not title_shape.element:
            for block in _shape_blocks(shape):
                text.add(block, location)
    if slide.has_notes_slide:
        frame = slide.notes_slide.notes_text_frame
        if frame is not None:
            text.add(frame.text.replace("\v", "\n"), location)
    return title


def extract_pptx(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """A deck's text slide by slide (title, shapes, tables, speaker notes), its title
    (the core properties', else the first slide title), author, date and slide count."""
    zf = ooxml.open_package(data, name, limits, ".ppt")
    count = sum(1 for entry in zf.namelist() if _SLIDE_PART.search(entry))
    if count > limits.max_pages:
        raise LimitExceeded(f"{name}: more than {limits.max_pages:,} slides ({count:,})")
    title, metadata = ooxml.core_properties(zf, name, "pptx")
    text = TextBuilder(name, limits.max_text_bytes)
    try:
        from pptx import Presentation

        slides = Presentation(io.BytesIO(data)).slides
        if len(slides) > limits.max_pages:
            raise LimitExceeded(f"{name}: more than {limits.max_pages:,} slides ({len(slides):,})")
        titles = [_slide(slide, number, text) for number, slide in enumerate(slides, 1)]
    except (IngestError, MemoryError):
        raise
    except Exception as exc:  # python-pptx's errors, and what crafted files make of it
        raise unreadable(name, DECK, exc) from None
    if not len(text):
        raise IngestError(f"{name}: the {DECK} has no text")
    metadata["slides"] = len(titles)
    first = next((t for t in titles if t), "")
    return Extracted(text.value, title or first or None, metadata, text.regions)
