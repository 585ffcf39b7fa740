"""Text out of saved web pages and PDFs, with the metadata a citation needs.

A saved news page is mostly not the article: navigation, share bars, comment forms,
advertisements, related-story lists. ``trafilatura`` (a maintained main-content
extractor) keeps the article's text and reads its title, canonical URL, author and
publication date; we write no HTML cleaning of our own. A PDF's text comes per page
from ``pypdf``; the offset where each page starts in the stored text is kept, so that a
passage can be cited with its page numbers. A page that is a scan, with no text layer, is
read by OCR (:mod:`rag.documents.ocr`) and listed in the metadata's ``ocr_pages``.

What comes out is the stored text itself: every offset the service returns points
into it, so no later step may change it.

Both parsers meet crafted files (issue 31): any failure of theirs becomes one
:class:`IngestError` line here, and a page count or text size past the caller's limit a
:class:`LimitExceeded`. Time and memory cannot be bounded in-process: the server runs
these extractors in a worker process (:mod:`rag.documents.parsing`).
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field

from rag.core.errors import IngestError, LimitExceeded
from rag.documents import ocr
from rag.documents.headings import article_headings
from rag.documents.kinds import ExtractLimits

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Extracted:
    """A document's text, its title if the file names one, and its metadata."""

    text: str
    title: str | None = None
    metadata: dict = field(default_factory=dict)
    #: (offset, location) pairs in offset order (:mod:`rag.core.locations`)
    regions: list = field(default_factory=list)


def _tidy(text: str) -> str:
    """One space between words, no control characters or lone surrogates, NFC;
    paragraphs kept."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", _CONTROL.sub("", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(lines).strip()


def megabytes(size: int) -> str:
    """``size`` in MB of 2**20 bytes, as a limit is named ("5", "0.25")."""
    return f"{size / (1 << 20):g}"


def check_text_size(text: str, name: str, max_bytes: int | None) -> None:
    """Refuse a text of more than ``max_bytes`` (UTF-8): passages and vectors grow with
    it, and embedding a megabyte takes about a minute on 2 cores."""
    if max_bytes is not None and len(text) * 4 > max_bytes and len(text.encode()) > max_bytes:
        raise LimitExceeded(f"{name}: extracted text over {megabytes(max_bytes)} MB")


def unreadable(name: str, kind: str, exc: Exception) -> IngestError:
    """One line for any failure of a parser: its own errors, and the recursion, type and
    attribute errors that crafted files provoke in it."""
    if isinstance(exc, RecursionError):
        return IngestError(f"{name}: not a readable {kind} (structures nested too deeply)")
    reason = " ".join(str(exc).split())[:200] or type(exc).__name__
    if type(exc).__name__ == "LimitReachedError":  # pypdf's own limits (75 MB a stream)
        return LimitExceeded(f"{name}: {kind} past the parser's limits ({reason})")
    return IngestError(f"{name}: not a readable {kind} ({reason})")


def extract_html(data: bytes, name: str, max_text_bytes: int | None = None) -> Extracted:
    """The article of a saved web page, one paragraph per block, and its metadata."""
    import trafilatura

    try:
        found = trafilatura.bare_extraction(
            data,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            favor_precision=True,
        )
    except MemoryError:
        raise
    except Exception as exc:
        raise unreadable(name, "HTML page", exc) from None
    body = _tidy(found.text or "") if found is not None else ""
    check_text_size(body, name, max_text_bytes)
    if not body:
        raise IngestError(f"{name}: no article text found in the page")
    paragraphs = [line for line in body.split("\n") if line]
    metadata = {"format": "html"}
    for key, value in (
        ("url", found.url),
        ("author", found.author),
        ("date", found.date),
        ("site", found.sitename),
    ):
        if value:
            metadata[key] = _tidy(str(value))[:500]
    title = _tidy(found.title or "") or None
    text = "\n\n".join(paragraphs)
    return Extracted(text, title, metadata, article_headings(found.body, text))


def _pdf_page_text(page) -> str:
    """A page's text: lines of a paragraph joined with a space, a word broken by a
    hyphen at a line end joined back."""
    raw = _tidy(page.extract_text() or "")
    raw = re.sub(r"(\w)-\n(\w)", r"\1\2", raw)
    paragraphs = re.split(r"\n\s*\n", raw)
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def _pdf_pages(data: bytes, name: str, max_pages: int | None, max_text_bytes: int | None):
    """Each page's text, the document information, and the pages that look scanned
    (:func:`rag.documents.ocr.lacks_text` and :func:`~rag.documents.ocr.shows_image`);
    past ``max_pages`` pages, or ``max_text_bytes`` of text, a :class:`LimitExceeded`
    before reading any further."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(f"{name}: the PDF is encrypted")
        count = len(reader.pages)
        if max_pages is not None and count > max_pages:
            raise LimitExceeded(f"{name}: more than {max_pages} pages ({count})")
        pages, scans, size = [], [], 0
        for page in reader.pages:
            pages.append(_pdf_page_text(page))
            if ocr.lacks_text(pages[-1]) and ocr.shows_image(page):
                scans.append(len(pages) - 1)
            size += len(pages[-1].encode()) + 2
            if max_text_bytes is not None and size > max_text_bytes:
                raise LimitExceeded(f"{name}: extracted text over {megabytes(max_text_bytes)} MB")
        return pages, reader.metadata or {}, scans
    except (IngestError, MemoryError):
        raise
    except Exception as exc:  # pypdf's own errors, and what crafted files make of it
        raise unreadable(name, "PDF", exc) from None


def extract_pdf(
    data: bytes,
    name: str,
    max_pages: int | None = None,
    max_text_bytes: int | None = None,
    ocr_options: ocr.OcrOptions | None = None,
) -> Extracted:
    """A PDF's text page by page (pages separated by a blank line); ``page_starts`` in
    the metadata gives the offset where each page starts. Scanned pages are read by OCR
    where it can run (``ocr_options``, default on), and listed in ``ocr_pages``."""
    pages, info, scans = _pdf_pages(data, name, max_pages, max_text_bytes)
    options = ocr_options if ocr_options is not None else ocr.OcrOptions()
    read = _read_scans(data, name, pages, scans, options)
    if not any(pages):
        raise IngestError(_no_text(name, scans, options))
    check_text_size("\n\n".join(pages), name, max_text_bytes)
    text, starts = "", []
    for page in pages:
        if text and page:
            text += "\n\n"
        starts.append(len(text))
        text += page
    for i in range(len(pages) - 2, -1, -1):
        if not pages[i]:  # a page without text starts where the next one does
            starts[i] = starts[i + 1]
    regions = [(start, {"page": i + 1}) for i, start in enumerate(starts) if pages[i]]
    metadata: dict = {"format": "pdf", "pages": len(pages), "page_starts": starts}
    if read:
        metadata["ocr_pages"] = read
    author = info.get("/Author")
    if author:
        metadata["author"] = _tidy(str(author))[:500]
    created = info.get("/CreationDate")
    if created and (date := re.match(r"D:(\d{4})(\d{2})?(\d{2})?", str(created))):
        metadata["date"] = "-".join(part for part in date.groups() if part)
    title = _tidy(str(info.get("/Title") or ""))
    if len(title.split()) < 2 or re.search(r"\.\w{2,4}$", title):
        title = ""  # often a file name ("report.docx"), not a title: the first line is better
    return Extracted(text, title or None, metadata, regions)


def _read_scans(
    data: bytes, name: str, pages: list[str], scans: list[int], options: ocr.OcrOptions
) -> list[int]:
    """Put the text OCR reads on the scanned pages ``scans`` into ``pages``, if OCR can
    run here; the numbers (1-based) of the pages it read text on."""
    if not scans or options.unavailable():
        return []
    texts = ocr.read_pages(data, name, scans, options, options.started)
    for index, text in zip(scans, texts, strict=True):
        pages[index] = text or pages[index]  # a blank scan keeps its page number
    return [index + 1 for index, text in zip(scans, texts, strict=True) if text]


def _no_text(name: str, scans: list[int], options: ocr.OcrOptions) -> str:
    """Why a PDF gave no text: no text layer and nothing to OCR, OCR unable to run
    here, or OCR reading nothing."""
    if not scans:
        return f"{name}: the PDF has no text layer (a scanned document?), and no page image for OCR"
    reason = options.unavailable()
    if reason:
        return f"{name}: the PDF has no text layer (a scanned document?): {reason}"
    pages = f"{len(scans)} scanned pages" if len(scans) > 1 else "scanned page"
    return f"{name}: the PDF has no text layer, and OCR read no text on its {pages}"


def read_pdf(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """:func:`extract_pdf` as the parse worker calls every extractor."""
    return extract_pdf(data, name, limits.max_pages, limits.max_text_bytes, limits.ocr)


def read_html(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """:func:`extract_html` as the parse worker calls every extractor."""
    return extract_html(data, name, limits.max_text_bytes)
