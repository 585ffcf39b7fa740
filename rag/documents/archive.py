"""Zip containers and their XML, opened so that a crafted file cannot make them costly.

DOCX, PPTX, XLSX, ODT/ODS/ODP and EPUB are zip files of XML. A zip bomb (a few kB that
unpack to gigabytes), a directory of a million entries, or XML that expands entities
("billion laughs") or fetches them from the network would hold a parser for minutes or
exhaust its memory. :func:`open_zip` checks the zip's directory (entry count, declared
sizes, compression ratio) before any member is read, and :func:`read_member` stops a
member at its declared size whatever its header says; :func:`parse_xml` parses with
entity resolution, DTD loading and network access off. The parse worker's memory cap and
time limit remain the last line behind these.

Usage::

    with open_zip(data, name, limits) as zf:
        root = parse_xml(read_member(zf, "word/document.xml", name), name)
"""

from __future__ import annotations

import io
import zipfile

from rag.core.errors import IngestError, LimitExceeded
from rag.documents.kinds import ExtractLimits

#: A member may unpack to at most this many times its compressed size (text XML
#: compresses 5-20×; bombs by thousands).
MAX_RATIO = 200
#: Members this small are exempt from the ratio (a few kB of repeated XML is fine).
RATIO_FLOOR = 1 << 20


def open_zip(data: bytes, name: str, limits: ExtractLimits) -> zipfile.ZipFile:
    """The zip in ``data``, its directory checked against ``limits``; an encrypted,
    corrupt or bomb-like file is refused in one line."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        entries = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise IngestError(
            f"{name}: not a readable file of its type (a damaged zip: {exc})"
        ) from None
    if len(entries) > limits.max_entries:
        raise LimitExceeded(f"{name}: more than {limits.max_entries:,} parts in the file")
    total = 0
    for entry in entries:
        if entry.flag_bits & 0x1:
            raise IngestError(f"{name}: the file is encrypted (password-protected)")
        total += entry.file_size
        ratio_size = max(entry.compress_size, 1) * MAX_RATIO
        if entry.file_size > RATIO_FLOOR and entry.file_size > ratio_size:
            raise LimitExceeded(f"{name}: a part unpacks {entry.file_size:,} bytes (a zip bomb?)")
    if total > limits.max_unpacked_bytes:
        raise LimitExceeded(
            f"{name}: unpacks to {total:,} bytes (at most {limits.max_unpacked_bytes:,})"
        )
    return zf


def has_member(zf: zipfile.ZipFile, member: str) -> bool:
    try:
        zf.getinfo(member)
    except KeyError:
        return False
    return True


def read_member(zf: zipfile.ZipFile, member: str, name: str) -> bytes:
    """A member's bytes, never more than its declared size (a lying header cannot make
    it unpack more); a missing or damaged member is one line."""
    try:
        info = zf.getinfo(member)
        with zf.open(info) as stream:
            data = stream.read(info.file_size + 1)
    except KeyError:
        raise IngestError(f"{name}: not a readable file of its type ({member} missing)") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError) as exc:
        raise IngestError(f"{name}: not a readable file of its type ({exc})") from None
    if len(data) > info.file_size:
        raise LimitExceeded(f"{name}: {member} unpacks past its declared size")
    return data


def parse_xml(data: bytes, name: str):
    """An lxml element tree of ``data`` with entities left unexpanded, no DTD loaded and
    no network: XML bombs and external entities come to nothing."""
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
    )
    try:
        return etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise IngestError(f"{name}: not a readable file of its type (bad XML: {exc})") from None
