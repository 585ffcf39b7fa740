"""Small real PDFs for the tests, written byte by byte (no PDF writer is a dependency):
one page per list of lines, in Helvetica, with a text layer; pages with none; or scanned
pages (an image and no text layer)."""

from __future__ import annotations

import zlib


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]], title: str | None = None, author: str | None = None) -> bytes:
    """A PDF whose page ``i`` shows the lines ``pages[i]`` (an empty list: no text at
    all, like a scanned page without OCR)."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below, once the pages object number is known
    pages_id = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for lines in pages:
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 740 Td"]
        for line in lines:
            ops += [f"({_escape(line)}) Tj", "T*"]
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1") if lines else b""
        content = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] "
                b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
                % (pages_id, font, content)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    info_fields = []
    if title:
        info_fields.append(b"/Title (%s)" % _escape(title).encode("latin-1"))
    if author:
        info_fields.append(b"/Author (%s)" % _escape(author).encode("latin-1"))
    info_fields.append(b"/CreationDate (D:20240315120000Z)")
    info = add(b"<< " + b" ".join(info_fields) + b" >>")

    return serialise(objects, catalog, b"/Info %d 0 R" % info)


def serialise(objects: list[bytes], root: int = 1, trailer: bytes = b"") -> bytes:
    """A PDF file of ``objects`` (object ``i + 1`` is ``objects[i]``; ``root`` the catalog)
    with a correct cross-reference table; ``trailer``: more trailer entries."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R %s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        trailer,
        xref,
    )
    return bytes(out)


def make_scanned_pdf(
    pages: list[list[str] | tuple[int, int, bytes]], media: tuple[int, int] = (612, 792)
) -> bytes:
    """A PDF of ``media``-sized pages: a list of lines is a page with a text layer (as in
    :func:`make_pdf`); ``(width, height, pixels)`` a scanned page, an 8-bit grey image of
    that many pixels drawn over the whole page, with no text layer."""
    objects: list[bytes] = [b"", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for page in pages:
        if isinstance(page, tuple):
            width, height, pixels = page
            packed = zlib.compress(pixels)
            objects.append(
                b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace "
                b"/DeviceGray /BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\n"
                b"stream\n%s\nendstream" % (width, height, len(packed), packed)
            )
            resources = b"/XObject << /Im1 %d 0 R >>" % len(objects)
            stream = b"q %d 0 0 %d 0 0 cm /Im1 Do Q" % media
        else:
            resources = b"/Font << /F1 3 0 R >>"
            ops = ["BT", "/F1 11 Tf", "14 TL", f"72 {media[1] - 52} Td"]
            ops += [op for line in page for op in (f"({_escape(line)}) Tj", "T*")]
            stream = "\n".join([*ops, "ET"]).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << %s >> "
            b"/Contents %d 0 R >>" % (*media, resources, len(objects))
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    refs = b" ".join(b"%d 0 R" % kid for kid in kids)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))
    return serialise(objects)
