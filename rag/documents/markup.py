"""Text out of marked-up trees (HTML, XHTML): paragraphs in reading order, and the heading
path in force at each as a region, so that a citation can say "Scope › Notice".

An EPUB chapter, an e-mail's HTML body or an HTML attachment is read whole, not through
trafilatura: they hold no navigation or comment forms to strip, and a main-content
extractor would drop short messages and chapter openings. A saved web page still goes
through trafilatura (:func:`rag.documents.formats.extract_html`, whose headings
:mod:`rag.documents.headings` finds).

:class:`Blocks` is the builder the OpenDocument, EPUB and e-mail extractors fill: a
:class:`~rag.documents.blocks.TextBuilder` (paragraphs, regions at their offsets, the
size checked as it grows) that also keeps the heading path.

A table row after its table's first is written as every table and sheet row of the
service is (:func:`rag.documents.blocks.row_line`: "Kettle — Price: 48 EUR; Item:
Kettle."), so that the reader ties each value to its row's name.

Trees are walked by :func:`walk`, not ``lxml.etree.iterwalk``: iterwalk passes over
comments and processing instructions together with their tails, the text that follows
them ("a <!-- c --> b" would lose "b"). XML that declares entities of its own is refused
(:func:`parse_xml`).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator

from lxml import etree

from rag.core.errors import IngestError
from rag.documents import archive
from rag.documents.blocks import LINE, PARAGRAPH, TextBuilder, one_line, row_line
from rag.documents.formats import _tidy

#: Elements whose text is never content.
SKIP = frozenset(
    "script style nav head template noscript iframe object svg math button select "
    "textarea title meta link".split()
)
#: Elements that start and end a paragraph of their own.
BLOCK = frozenset(
    "address article aside blockquote body caption dd details div dl dt fieldset figcaption "
    "figure footer form header hr html li main ol p pre section summary table tbody thead "
    "tfoot tr ul".split()
)
HEADINGS = {f"h{n}": n for n in range(1, 7)}
CELLS = frozenset(("td", "th"))


def local(tag: object) -> str:
    """An element's name without its namespace, lower case ("" for a comment)."""
    return tag.rpartition("}")[2].lower() if isinstance(tag, str) else ""


def walk(root, descend: Callable[[object], bool]) -> Iterator[tuple[bool, object]]:
    """(True, node) as each node starts and (False, node) as it ends, in document order,
    comments and entities included; a node's children are visited only if
    ``descend(node)``. Iterative: no recursion, whatever the depth."""
    yield True, root
    stack = [(root, iter(root))]
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            yield False, node
            continue
        yield True, child
        if isinstance(child.tag, str) and descend(child):
            stack.append((child, iter(child)))
        else:
            yield False, child


class Blocks(TextBuilder):
    """A :class:`~rag.documents.blocks.TextBuilder` that also keeps the heading path:
    ``heading(level, text)`` starts a region ``{"headings": [...]}`` at the heading, and
    ``mark(location)`` one at the next block added, whatever it is."""

    def __init__(self, name: str, max_bytes: int | None) -> None:
        super().__init__(name, max_bytes)
        self.path: list[tuple[int, str]] = []
        self._pending: dict | None = None

    def mark(self, location: dict) -> None:
        self._pending = location

    def heading(self, level: int, text: str) -> None:
        text = one_line(text)
        if text:
            self.path = [(lv, t) for lv, t in self.path if lv < level] + [(level, text)]
            self.add(text, {"headings": [t for _, t in self.path]})

    def add(self, block: str, location: dict | None = None, gap: str = PARAGRAPH) -> bool:
        """Append a paragraph, its blank lines dropped (a blank line separates blocks)."""
        block = "\n".join(line for line in _tidy(block).split("\n") if line)
        added = super().add(block, location if location is not None else self._pending, gap)
        if added:
            self._pending = None
        return added

    def extend(self, text: str, regions: list, base: dict) -> None:
        """Append a whole text (an e-mail part, already tidy) as it is, with its own
        regions, each within ``base`` (``{"part": "a.txt"}``); its start is a region of
        ``base`` alone if it has none there."""
        if not TextBuilder.add(self, text, base):
            return
        start = len(self) - len(text)
        for offset, location in regions:
            if not 0 <= offset < len(text):
                continue
            if self.regions and self.regions[-1][0] == start + offset:
                self.regions[-1] = (start + offset, {**base, **location})
            else:
                self.regions.append((start + offset, {**base, **location}))


def _table_row(row, headers: dict, blocks: Blocks) -> None:
    """An HTML table row: its table's first row names the columns (said once, cells
    joined by " | "), every later row is a :func:`~rag.documents.blocks.row_line`."""
    cells = [one_line("".join(c.itertext())) for c in row if local(c.tag) in CELLS]
    table = next((a for a in row.iterancestors() if local(a.tag) == "table"), None)
    if table not in headers:
        headers[table] = cells
        blocks.add(" | ".join(c for c in cells if c))
    else:
        blocks.add(row_line(headers[table], cells), gap=LINE)


def html_blocks(root, blocks: Blocks) -> None:
    """The paragraphs and headings of an HTML or XHTML tree into ``blocks``: each block
    element a paragraph, table rows as :func:`_table_row` says, h1-h6 headings;
    scripts, styles and navigation skipped."""
    buffer: list[str] = []
    level = 0
    headers: dict = {}

    def flush() -> None:
        nonlocal level
        text = "".join(buffer)
        buffer.clear()
        if level:
            blocks.heading(level, text)
        else:
            blocks.add(text)
        level = 0

    def descend(node) -> bool:
        return local(node.tag) not in SKIP and local(node.tag) != "tr"

    for starting, node in walk(root, descend):
        name = local(node.tag)
        if not starting:
            if name in BLOCK or name in HEADINGS:
                flush()
            if node is not root and node.tail:
                buffer.append(node.tail)
            continue
        if not isinstance(node.tag, str):
            if node.tag is etree.Entity and node.text:  # left unexpanded by the parser
                value = html.unescape(node.text)
                buffer.append(value if value != node.text else "")  # HTML's own only
            continue
        if name in SKIP:
            continue
        if name in BLOCK or name in HEADINGS:
            flush()
            level = HEADINGS.get(name, 0)
        if name == "tr":
            _table_row(node, headers, blocks)
            continue
        if name == "br":
            buffer.append("\n")
        if node.text:
            buffer.append(node.text)
    flush()


def parse_html(data: bytes | str):
    """An lxml tree of an HTML document: no network, no entities of its own (the HTML
    parser knows only HTML's), comments and processing instructions dropped."""
    import lxml.html

    parser = lxml.html.HTMLParser(
        no_network=True, remove_comments=True, remove_pis=True, huge_tree=False
    )
    return lxml.html.document_fromstring(data, parser=parser)


def refuse_entities(root, name: str):
    """``root``, unless its document declares entities of its own: ODF and XHTML have no
    use for them, so a declared one is an entity bomb or an external entity reaching for
    a file. The parser leaves them unexpanded anyway; refused, the file says what it is
    instead of losing text silently."""
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and next(iter(dtd.iterentities()), None) is not None:
        raise IngestError(f"{name}: the file declares XML entities (an entity bomb?)")
    return root


def parse_xml(data: bytes, name: str):
    """:func:`rag.documents.archive.parse_xml` (no entities expanded, no DTD loaded, no
    network), and no entity declared (:func:`refuse_entities`)."""
    return refuse_entities(archive.parse_xml(data, name), name)
