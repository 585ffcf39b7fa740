"""Office files built in the tests with python-docx, python-pptx and openpyxl, and the
hostile ones made from them: zip bombs, zips of 20,000 parts, encrypted (OLE2) files,
truncated files, and XML parts that declare entities."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

from rag.documents.ooxml import OLE_SIGNATURE

FACT = "The harbour master is Oskar Vint."
#: The part that holds each simple file's text.
MAIN_PART = {
    "docx": "word/document.xml",
    "pptx": "ppt/slides/slide1.xml",
    "xlsx": "xl/worksheets/sheet1.xml",
}
#: "Billion laughs": nine levels of ten references each, 10**9 "lol"s once expanded.
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol0 "lol">\n'
    + b"".join(b'<!ENTITY lol%d "%s">\n' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, 10))
    + b"]>\n",
    b"&lol9;",
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
    b"&xxe;",
)


def docx_bytes(build: Callable) -> bytes:
    """A Word document that ``build(document)`` filled."""
    import docx

    document = docx.Document()
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pptx_bytes(build: Callable) -> bytes:
    """A deck that ``build(presentation)`` filled."""
    from pptx import Presentation

    deck = Presentation()
    build(deck)
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def xlsx_bytes(build: Callable) -> bytes:
    """A workbook that ``build(workbook)`` filled."""
    import openpyxl

    workbook = openpyxl.Workbook()
    build(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _one_slide(deck) -> None:
    deck.slides.add_slide(deck.slide_layouts[5]).shapes.title.text = FACT


def simple(kind: str) -> bytes:
    """A small valid file of ``kind`` (docx, pptx, xlsx) saying :data:`FACT`."""
    if kind == "docx":
        return docx_bytes(lambda document: document.add_paragraph(FACT))
    if kind == "pptx":
        return pptx_bytes(_one_slide)
    return xlsx_bytes(lambda workbook: workbook.active.append([FACT]))


def rewrite(data: bytes, changes: dict[str, bytes | Callable[[bytes], bytes]]) -> bytes:
    """The zip ``data`` with parts replaced (bytes) or edited (a function of the old
    bytes); new parts added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            content = old.read(info)
            change = changes.get(info.filename)
            content = change(content) if callable(change) else change or content
            new.writestr(info, content, zipfile.ZIP_DEFLATED)
        for name, content in changes.items():
            if name not in old.namelist() and isinstance(content, bytes):
                new.writestr(name, content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def with_dtd(data: bytes, kind: str, dtd: tuple[bytes, bytes]) -> bytes:
    """``data`` whose main part starts with the DTD ``dtd[0]`` in place of its XML
    declaration and uses its entity ``dtd[1]`` in the text."""
    prolog, reference = dtd

    def edit(xml: bytes) -> bytes:
        body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
        return prolog + body.lstrip().replace(b"The harbour", reference + b" The harbour")

    return rewrite(data, {MAIN_PART[kind]: edit})


def zip_bomb(data: bytes, megabytes: int = 8) -> bytes:
    """``data`` with a part of ``megabytes`` MB of zeros (a few kB compressed: the ratio
    of a real bomb, which is 1 GB in 1 MB, at a size quick to build)."""
    return rewrite(data, {"word/media/zeros.bin": bytes(megabytes << 20)})


def many_parts(count: int = 20_000) -> bytes:
    """A zip of ``count`` empty parts."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for i in range(count):
            zf.writestr(f"p/{i}.xml", b"")
    return out.getvalue()


def encrypted() -> bytes:
    """What Office writes for a password-protected file: an OLE2 compound file."""
    return OLE_SIGNATURE + bytes(512 - len(OLE_SIGNATURE)) + b"EncryptedPackage" * 64


_SLIDE_TYPE = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide"
_SLIDE_OVERRIDE = (
    b'<Override PartName="/ppt/slides/slide%d.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.presentationml.slide+xml"/>'
)


def many_slides(count: int) -> bytes:
    """A deck of ``count`` slides titled "Berth N is open.", made by copying one slide's
    parts in the zip: python-pptx adds slides in quadratic time (2 s for 1,000 on a quiet
    core, 20 s on busy ones), this in a fraction of a second."""
    with zipfile.ZipFile(io.BytesIO(pptx_bytes(_one_slide))) as zf:
        parts = {info.filename: zf.read(info) for info in zf.infolist()}
    slide = parts.pop("ppt/slides/slide1.xml")
    rels = parts.pop("ppt/slides/_rels/slide1.xml.rels")
    numbers = range(1, count + 1)
    listed = b"".join(b'<p:sldId id="%d" r:id="rIdS%d"/>' % (255 + n, n) for n in numbers)
    parts["ppt/presentation.xml"] = re.sub(
        rb"<p:sldIdLst>.*?</p:sldIdLst>",
        lambda _: b"<p:sldIdLst>" + listed + b"</p:sldIdLst>",
        parts["ppt/presentation.xml"],
    )
    relations = b"".join(
        b'<Relationship Id="rIdS%d" Type="%s" Target="slides/slide%d.xml"/>' % (n, _SLIDE_TYPE, n)
        for n in numbers
    )
    pres_rels = re.sub(
        rb'<Relationship Id="\w+" Type="[^"]+/slide" Target="slides/slide1.xml"/>',
        b"",
        parts["ppt/_rels/presentation.xml.rels"],
    )
    parts["ppt/_rels/presentation.xml.rels"] = pres_rels.replace(
        b"</Relationships>", relations + b"</Relationships>"
    )
    overrides = b"".join(_SLIDE_OVERRIDE % n for n in numbers)
    types = parts["[Content_Types].xml"].replace(_SLIDE_OVERRIDE % 1, b"")
    parts["[Content_Types].xml"] = types.replace(b"</Types>", overrides + b"</Types>")
    for n in numbers:
        parts[f"ppt/slides/slide{n}.xml"] = slide.replace(FACT.encode(), b"Berth %d is open." % n)
        parts[f"ppt/slides/_rels/slide{n}.xml.rels"] = rels
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            zf.writestr(name, content)
    return out.getvalue()
