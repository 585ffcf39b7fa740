"""Office Open XML packages (DOCX, PPTX, XLSX) checked before a library reads them, and
their core properties (title, author, date) read without one.

python-docx, python-pptx and openpyxl open whatever zip they are given and parse its XML
with their own parsers. Before they do, :func:`open_package` refuses in one line:

* an encrypted document or an old binary one (.doc, .ppt, .xls): both are OLE2 compound
  files, not zips; the libraries would say "File is not a zip file";
* a zip bomb, a directory of too many parts, a damaged zip (:func:`archive.open_zip`);
* any part whose XML declares a DTD. OOXML forbids DTDs (ECMA-376 Part 2, M1.17 and
  M1.18), so a declared one can only be an entity bomb ("billion laughs") or an external
  entity reaching for a file or the network. The libraries' parsers do not expand
  entities, but a refusal says what the file is instead of silently dropping text.

Core properties come from ``docProps/core.xml``, parsed entity-free here: python-docx
invents a title ("Word Document") for a file without them, and its and python-pptx's
templates name themselves as the author.
"""

from __future__ import annotations

import re
import zipfile
import zlib

from rag.core.errors import IngestError
from rag.documents import archive
from rag.documents.blocks import one_line
from rag.documents.kinds import ExtractLimits

#: The first bytes of an OLE2 compound file: an encrypted OOXML file or a .doc/.ppt/.xls.
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: How much of a part is read to find its prolog (where a DTD would be).
HEAD_BYTES = 64 * 1024
#: What comes before an XML document's root element besides a DTD.
_PROLOG = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.S)
_XML_PART = (".xml", ".rels", ".vml")
_NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
}
#: Authors that name the library that wrote a file from its template, not a person.
_PLACEHOLDER_AUTHORS = {"python-docx", "python-pptx", "openpyxl"}


def open_package(data: bytes, name: str, limits: ExtractLimits, old_suffix: str) -> zipfile.ZipFile:
    """The zip of an OOXML file, checked (see the module docstring); ``old_suffix`` is the
    binary format's (".doc"), named in the message about an OLE2 file."""
    if data.startswith(OLE_SIGNATURE):
        raise IngestError(
            f"{name}: encrypted, or an old binary Office file ({old_suffix}): "
            f"save it unencrypted as {old_suffix}x"
        )
    zf = archive.open_zip(data, name, limits)
    for info in zf.infolist():
        if info.filename.lower().endswith(_XML_PART) and _declares_dtd(zf, info, name):
            raise IngestError(
                f"{name}: {info.filename} declares a DTD (entity declarations are "
                "refused: Office files never have one)"
            )
    return zf


def _as_utf8(head: bytes) -> bytes:
    """A part's first bytes in UTF-8 (a UTF-16 part decoded), without a BOM."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return head.decode("utf-16", "ignore").encode("utf-8")
    if head[:1] == b"\x00" or head[1:2] == b"\x00":
        codec = "utf-16-be" if head[:1] == b"\x00" else "utf-16-le"
        return head.decode(codec, "ignore").encode("utf-8")
    return head.removeprefix(b"\xef\xbb\xbf")


def _after_prolog(head: bytes) -> bytes:
    """What follows the XML declaration, comments and processing instructions."""
    head = _as_utf8(head)
    return head[_PROLOG.match(head).end() :]


def _declares_dtd(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bool:
    """Whether the part's prolog holds ``<!DOCTYPE``: its first :data:`HEAD_BYTES`,
    or all of it when a long comment fills them (its declared size bounds that)."""
    try:
        with zf.open(info) as stream:
            head = stream.read(HEAD_BYTES)
            rest = _after_prolog(head)
            if len(head) == HEAD_BYTES and (not rest or rest.startswith((b"<?", b"<!--"))):
                rest = _after_prolog(head + stream.read(info.file_size))
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, RuntimeError) as exc:
        raise IngestError(f"{name}: not a readable file of its type ({exc})") from None
    return rest.startswith(b"<!DOCTYPE")


def core_properties(zf: zipfile.ZipFile, name: str, file_format: str) -> tuple[str, dict]:
    """The title ("" if none) and the metadata (format, author, date as YYYY-MM-DD) of
    ``docProps/core.xml``; a file without it, or with a damaged one, has none."""
    metadata: dict = {"format": file_format}
    if not archive.has_member(zf, "docProps/core.xml"):
        return "", metadata
    try:
        root = archive.parse_xml(archive.read_member(zf, "docProps/core.xml", name), name)
    except (IngestError, zlib.error):
        return "", metadata  # the document is still readable without its properties

    def field(path: str) -> str:
        found = root.find(path, _NS)
        return one_line(found.text or "")[:500] if found is not None and found.text else ""

    author = field("dc:creator")
    if author and author not in _PLACEHOLDER_AUTHORS:
        metadata["author"] = author
    created = re.match(r"(\d{4})-(\d{2})-(\d{2})", field("dcterms:created"))
    if created:
        metadata["date"] = "-".join(created.groups())
    return field("dc:title"), metadata
