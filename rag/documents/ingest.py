"""Reading and cleaning source files into :class:`~rag.core.types.Document` objects.

News pages scraped from the web carry text that is not the article: comment
forms, advertisement markers, a headline printed twice. Leaving them in would
put them in passages and, worse, in answers, so they are removed before any
offset is computed: the cleaned text is what is stored and cited.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from rag.core import locations
from rag.core.errors import IngestError
from rag.core.types import Document
from rag.documents import formats, kinds

SUPPORTED_SUFFIXES = kinds.SUPPORTED_SUFFIXES
MAX_TITLE_CHARS = 200

#: A line that starts the comment form: it and everything after it are dropped.
_FOOTER_START = re.compile(r"^\s*(leave a reply|leave a comment|post a comment)\s*$", re.I)
#: Single lines that are never article text.
_JUNK_LINE = re.compile(
    r"^\s*("
    r"[–—-]*\s*advertisements?\s*[–—-]*"
    r"|your email address will not be published\..*"
    r"|this site uses akismet to reduce spam\..*"
    r"|required fields are marked \*"
    r")\s*$",
    re.I,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: A Markdown ATX heading: "## Scope", "# Title #".
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.M)
_CONTROL_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: A document id: a file name's stem or a content hash, after ``collection:`` outside the
#: default collection (:func:`rag.core.selection.document_id`).
_DOC_ID = re.compile(r"^(?:[a-z0-9][a-z0-9_-]{0,62}:)?[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class UnsupportedFileType(IngestError):
    """A file whose type is not one of :data:`SUPPORTED_SUFFIXES`."""


def sanitize(text: str) -> str:
    """Text that can be stored and encoded: lone surrogates (possible in JSON strings)
    become '?', and control characters other than tab and newline are dropped."""
    return _CONTROL.sub("", text.encode("utf-8", "replace").decode("utf-8"))


def clean_name(name: str) -> str:
    """A file name fit to store, log and show: control characters (a NUL, a newline that
    would forge a log line) removed, white space trimmed, at most 255 characters."""
    return _CONTROL_NAME.sub("", sanitize(name)).strip()[:255]


def clean_text(raw: str) -> str:
    """Remove non-article lines and normalise white space, keeping paragraphs."""
    raw = sanitize(raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = unicodedata.normalize("NFC", raw).lstrip("\ufeff")
    kept: list[str] = []
    last = ""  # the last non-empty line kept: one pass, linear in the text
    for line in text.split("\n"):
        line = line.rstrip()
        if _FOOTER_START.match(line):
            break
        if _JUNK_LINE.match(line):
            continue
        stripped = line.strip()
        if stripped and stripped == last:
            continue  # a headline (or any line) printed twice in a row
        kept.append(line)
        last = stripped or last
    cleaned = "\n".join(kept)
    cleaned = re.sub(r"\n{3,}", "\n\n", cleaned)
    return cleaned.strip()


def title_of(text: str) -> str:
    """The first non-empty line, shortened for display."""
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    if len(first) > MAX_TITLE_CHARS:
        first = first[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    return first


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def valid_doc_id(doc_id: str) -> bool:
    return bool(_DOC_ID.match(doc_id))


def doc_id_from_name(name: str) -> str:
    """A safe id from a file name: its stem with unsafe characters replaced."""
    stem = Path(name).stem
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.")[:128]
    return safe if valid_doc_id(safe) else ""


def make_document(
    text: str,
    *,
    title: str | None = None,
    doc_id: str | None = None,
    source: str = "",
    metadata: dict | None = None,
    clean: bool = True,
    regions: object = (),
) -> Document:
    """Clean ``text`` and build a document; the id defaults to a hash of the content.

    ``clean=False`` stores ``text`` as it is: text extracted from HTML or a PDF is
    already clean, and its page offsets and ``regions`` point into it."""
    cleaned = clean_text(text) if clean else text
    if not cleaned:
        raise IngestError("the document has no text")
    digest = content_hash(cleaned)
    doc_id = doc_id if doc_id else digest[:16]
    if not valid_doc_id(doc_id):
        raise IngestError(f"invalid document id: {doc_id!r}")
    title = title.strip() if title and title.strip() else title_of(cleaned)
    return Document(
        doc_id=doc_id,
        title=title[:MAX_TITLE_CHARS],
        text=cleaned,
        source=source,
        content_hash=digest,
        metadata=metadata if metadata is not None else {},
        regions=locations.checked(regions, len(cleaned)) if not clean else (),
    )


def heading_regions(text: str) -> list[tuple[int, dict]]:
    """The heading path in force at each Markdown heading of ``text`` (``# Scope`` then
    ``## Notice`` gives ``["Scope", "Notice"]`` from that line on)."""
    path: list[tuple[int, str]] = []
    regions = []
    for match in _HEADING.finditer(text):
        level, title = len(match.group(1)), match.group(2).strip()
        path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
        regions.append((match.start(), {"headings": [t for _, t in path]}))
    return regions


def decode(data: bytes, name: str) -> str:
    if b"\x00" in data:
        raise IngestError(f"{name}: binary file, expected UTF-8 text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def check_suffix(name: str) -> None:
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UnsupportedFileType(
            f"{name}: unsupported file type (supported: {', '.join(SUPPORTED_SUFFIXES)})"
        )


def read_bytes(
    data: bytes,
    name: str,
    *,
    title: str | None = None,
    doc_id: str | None = None,
    source: str = "",
    extract: Callable[[str, bytes, str], formats.Extracted] | None = None,
    max_text_bytes: int | None = None,
) -> Document:
    """A document from a file's bytes: a PDF or an HTML page by its content and name
    (see :func:`rag.documents.kinds.kind_of`), UTF-8 text by its name; anything else is an
    :class:`UnsupportedFileType`.

    ``extract(kind, data, name)`` parses a page or a PDF (default: here, unbounded; the
    service passes :meth:`rag.documents.parsing.Parser.extract`, which bounds time and
    memory); a text over ``max_text_bytes`` is refused."""
    kind = kinds.kind_of(name, data)
    if kind in kinds.IN_PROCESS:
        check_suffix(name)
        text = decode(data, name)
        formats.check_text_size(text, name, max_text_bytes)
        document = make_document(text, title=title, doc_id=doc_id, source=source)
        if kind == "markdown":  # its headings give locations, the first line a title
            regions = locations.checked(heading_regions(document.text), len(document.text))
            named = title if title and title.strip() else document.title.lstrip("#").strip()
            document = replace(document, regions=regions, title=named or document.title)
        return document
    found = (extract or _extract_here)(kind, data, name)
    return make_document(
        found.text,
        title=title if title and title.strip() else found.title,
        doc_id=doc_id,
        source=source,
        metadata=found.metadata,
        clean=False,
        regions=found.regions,
    )


def _extract_here(kind: str, data: bytes, name: str) -> formats.Extracted:
    return kinds.extractor(kind)(data, name, kinds.ExtractLimits())


def read_file(path: Path, reader: Callable[..., Document] = read_bytes) -> Document:
    """The document of a file, its id from the file name; ``reader`` turns the bytes into
    it (:func:`read_bytes`, or a bounded parser's)."""
    check_suffix(path.name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror})") from None
    doc_id = doc_id_from_name(path.name) or None
    return reader(data, str(path), doc_id=doc_id, source=str(path))


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Supported files under the given files and folders, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.exists():
            yield path
        else:
            raise IngestError(f"{path}: no such file or folder")
