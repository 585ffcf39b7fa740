"""Crafted files that an outside test sent through the upload route (issue 31), built
byte by byte here so that every test makes its own: each breaks a parser a different
way (a decompression bomb, reference cycles, nesting deep enough to exhaust the stack
or the clock, a lying /Length, junk encryption, an unknown filter, a bad predictor),
and an HTML page of one word repeated for megabytes."""

from __future__ import annotations

import zlib

from tests.support.pdfs import serialise


def pdf_of(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF of ``objects`` (object 1 is the catalog) with a correct cross-reference
    table, so that only what the objects say is wrong."""
    return serialise(objects, 1, trailer)


def _stream(data: bytes, extra: bytes = b"", length: int | None = None) -> bytes:
    size = len(data) if length is None else length
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (size, extra, data)


def _one_page(content: bytes, page_extra: bytes = b"") -> list[bytes]:
    """Catalog, pages, one page whose /Contents is object 4 (``content``), a font."""
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R %s >>" % page_extra,
        content,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]


TEXT = b"BT /F1 11 Tf 72 740 Td (Hostile but readable) Tj ET"


def deflated_zeros(megabytes: int) -> bytes:
    """``megabytes`` MB of zeros as one zlib stream (about 1 kB a MB), built in
    milliseconds: one block compressed once and repeated (a full flush makes each block
    stand alone), the checksum computed for the whole."""
    block = b"\0" * (1 << 20)
    packer = zlib.compressobj(9)
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.flush()[:-4]  # the final block; its checksum covered two blocks
    checksum = 1
    for _ in range(megabytes):
        checksum = zlib.adler32(block, checksum)
    return first + again * (megabytes - 1) + end + checksum.to_bytes(4, "big")


def flate_bomb(megabytes: int = 1100) -> bytes:
    """A FlateDecode content stream of about 1 MB that inflates to ``megabytes`` MB."""
    return pdf_of(_one_page(_stream(deflated_zeros(megabytes), b"/Filter /FlateDecode")))


def parent_cycle() -> bytes:
    """A page tree whose pages node is its own kid and its own parent."""
    objects = _one_page(_stream(TEXT))
    objects[1] = b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 3 0 R] /Count 2 >>"
    return pdf_of(objects)


def self_reference() -> bytes:
    """A page whose /Contents is an object that is a reference to itself."""
    objects = _one_page(b"4 0 R")
    return pdf_of(objects)


def nested_content(depth: int = 50_000) -> bytes:
    """A content stream of arrays nested ``depth`` deep."""
    return pdf_of(_one_page(_stream(b"[" * depth + b"]" * depth + b" " + TEXT)))


def long_length() -> bytes:
    """A content stream whose /Length points far past the end of the file."""
    return pdf_of(_one_page(_stream(TEXT, length=10**12)))


def junk_encryption() -> bytes:
    """An /Encrypt dictionary of junk values."""
    objects = [*_one_page(_stream(TEXT)), b"<< /Filter /Junk /V 99 /R -3 /O 7 /U (x) /P /Q >>"]
    return pdf_of(objects, trailer=b"/Encrypt 6 0 R /ID [<00> <00>]")


def unknown_filter() -> bytes:
    """A content stream encoded with a filter no reader knows."""
    return pdf_of(_one_page(_stream(TEXT, b"/Filter /NoSuchDecode")))


def bad_predictor() -> bytes:
    """A Flate stream with a PNG predictor of nonsensical parameters."""
    packed = zlib.compress(TEXT)
    parms = b"/Filter /FlateDecode /DecodeParms << /Predictor 99 /Columns -7 /Colors 0 >>"
    return pdf_of(_one_page(_stream(packed, parms)))


def nested_dictionary(depth: int = 1_000) -> bytes:
    """A small PDF (2 kB at the default depth) whose page holds a dictionary nested
    ``depth`` deep: held the parser for 84–198 s in the outside test."""
    nested = b"<< /A " * depth + b">> " * depth
    return pdf_of(_one_page(_stream(TEXT), b"/Nest " + nested))


def slow_pdf(pages: int = 200, megabytes: float = 1.0) -> bytes:
    """A PDF of about 3 kB whose ``pages`` pages share one compressed content stream of
    ``megabytes`` MB of moves, which pypdf parses again for each page (0.15 s): 30 s for
    200 pages, for no text at all."""
    ops = b"BT " + b"1 0 Td " * int(megabytes * (1 << 20) / 7) + b"ET"
    objects = _one_page(_stream(zlib.compress(ops, 9), b"/Filter /FlateDecode"))
    kids = b" ".join(b"%d 0 R" % (6 + i) for i in range(pages))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)
    page = objects[2]
    objects[2] = b"<< /Type /Catalog >>"  # unused: the pages follow the font
    objects += [page] * pages
    return pdf_of(objects)


def page_of_breaks(megabytes: float = 9.0) -> bytes:
    """An HTML page of one word and a line break repeated for ``megabytes`` MB: grew the
    parsing process by about 220 MB a megabyte (1.96 GB at 9 MB, in 51 s)."""
    body = b"word<br>" * int(megabytes * (1 << 20) / 8)
    return b"<html><head><title>Word</title></head><body><p>" + body + b"</p></body></html>"


def repeated_word_page(megabytes: float = 9.0) -> bytes:
    """An HTML page whose body is one word repeated for ``megabytes`` MB."""
    body = b"word " * int(megabytes * (1 << 20) / 5)
    return b"<html><head><title>Word</title></head><body><p>" + body + b"</p></body></html>"


#: Every crafted PDF kind of the outside test, by name.
HOSTILE_PDFS = {
    "parent-cycle": parent_cycle,
    "self-reference": self_reference,
    "nested-content": nested_content,
    "long-length": long_length,
    "junk-encryption": junk_encryption,
    "unknown-filter": unknown_filter,
    "bad-predictor": bad_predictor,
    "nested-dictionary": nested_dictionary,
    "flate-bomb": flate_bomb,
}
