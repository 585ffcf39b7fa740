"""EPUB books: the chapters' text in reading order, with the heading path as regions.

An EPUB is a zip (:mod:`rag.documents.archive`: bounded before anything is unpacked):
``META-INF/container.xml`` names the package document (OPF), whose manifest lists the
chapters and whose spine gives their reading order. Each chapter is XHTML, parsed as XML
with entities, DTDs and the network off; one that is not well-formed XML (HTML in an
XHTML file, an HTML entity without its DTD) is parsed by lxml's HTML parser, which knows
HTML's own entities and nothing else. Headings (h1-h6) become regions
``{"headings": ["Part One", "The Harbour"]}`` (:mod:`rag.documents.markup`); navigation,
scripts and styles are skipped.

A book whose chapters are encrypted (DRM: ``META-INF/encryption.xml`` names them) is
refused in one line; encrypted fonts alone (font obfuscation) are not a reason to.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from urllib.parse import unquote

from rag.core.errors import IngestError, LimitExceeded
from rag.documents import archive
from rag.documents.formats import Extracted
from rag.documents.kinds import ExtractLimits
from rag.documents.markup import (
    Blocks,
    html_blocks,
    local,
    parse_html,
    parse_xml,
    refuse_entities,
)

CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
OPF = "{http://www.idpf.org/2007/opf}"
DC = "{http://purl.org/dc/elements/1.1/}"
XENC = "{http://www.w3.org/2001/04/xmlenc#}"
CHAPTER_TYPES = ("application/xhtml+xml", "text/html")


def member_path(base: str, href: str) -> str | None:
    """The zip member ``href`` (relative to the file ``base``) points at; None if it
    points outside the zip."""
    path = posixpath.normpath(posixpath.join(posixpath.dirname(base), unquote(href)))
    return None if path.startswith(("../", "/")) or path == ".." else path


def package_path(zf: zipfile.ZipFile, name: str) -> str:
    """The OPF package document's path, from ``META-INF/container.xml``."""
    container = parse_xml(archive.read_member(zf, "META-INF/container.xml", name), name)
    for rootfile in container.iter(f"{CONTAINER}rootfile"):
        path = member_path("", rootfile.get("full-path") or "")
        if path and path.lower().endswith(".opf"):
            return path
    raise IngestError(f"{name}: not a readable EPUB book (no package document)")


def spine(package, opf_path: str) -> list[str]:
    """The chapters' member paths in reading order (each once)."""
    items = {}
    for item in package.iter(f"{OPF}item"):
        if (item.get("media-type") or "") in CHAPTER_TYPES and item.get("href"):
            items[item.get("id")] = item.get("href").split("#")[0]
    paths: list[str] = []
    for ref in package.iter(f"{OPF}itemref"):
        href = items.get(ref.get("idref"))
        path = member_path(opf_path, href) if href else None
        if path and path not in paths:
            paths.append(path)
    return paths


def refuse_encrypted(zf: zipfile.ZipFile, chapters: list[str], name: str) -> None:
    """One line if ``META-INF/encryption.xml`` names a chapter."""
    if not archive.has_member(zf, "META-INF/encryption.xml"):
        return
    listed = parse_xml(archive.read_member(zf, "META-INF/encryption.xml", name), name)
    encrypted = {
        member_path("", ref.get("URI") or "") for ref in listed.iter(f"{XENC}CipherReference")
    }
    if encrypted.intersection(chapters):
        raise IngestError(f"{name}: the EPUB book is encrypted (DRM)")


def chapter_body(data: bytes, name: str):
    """A chapter's ``body`` (or its root): XHTML as XML, else as HTML; None if empty."""
    if b"<!ENTITY" in data:  # else a bomb that fails as XML would be read as HTML
        raise IngestError(f"{name}: the file declares XML entities (an entity bomb?)")
    try:
        root = archive.parse_xml(data, name)
    except IngestError:  # not well-formed: HTML in an XHTML file
        try:
            root = parse_html(data)
        except Exception:  # lxml's "Document is empty" and kin: nothing to read
            return None
    refuse_entities(root, name)
    return next((el for el in root.iter() if local(el.tag) == "body"), root)


def book_metadata(package) -> tuple[str | None, dict]:
    """The title, and author, date and language as metadata."""
    metadata: dict = {"format": "epub"}

    def first(field: str) -> str:
        element = package.find(f".//{DC}{field}")
        return " ".join("".join(element.itertext()).split())[:500] if element is not None else ""

    if author := first("creator"):
        metadata["author"] = author
    if re.match(r"\d{4}(-\d{2}){0,2}", date := first("date")):
        metadata["date"] = date[:10]
    if language := first("language"):
        metadata["language"] = language[:35]
    return first("title") or None, metadata


def extract_epub(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """An EPUB book's text, chapter after chapter in spine order, with heading regions."""
    zf = archive.open_zip(data, name, limits)
    opf_path = package_path(zf, name)
    package = parse_xml(archive.read_member(zf, opf_path, name), name)
    chapters = [path for path in spine(package, opf_path) if archive.has_member(zf, path)]
    if len(chapters) > limits.max_pages:
        raise LimitExceeded(f"{name}: more than {limits.max_pages} chapters ({len(chapters)})")
    refuse_encrypted(zf, chapters, name)
    blocks = Blocks(name, limits.max_text_bytes)
    for path in chapters:
        body = chapter_body(archive.read_member(zf, path, name), name)
        if body is not None:
            html_blocks(body, blocks)
    if not blocks.value:
        raise IngestError(f"{name}: the EPUB book has no text")
    title, metadata = book_metadata(package)
    metadata["chapters"] = len(chapters)
    return Extracted(blocks.value, title, metadata, blocks.regions)
