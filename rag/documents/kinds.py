"""The file types the service reads, and which extractor reads each: one table that
``rag index``, ``rag sync``, the upload route and the page all take their list from.

An extractor is named by its import path, not imported here: the parse worker
(:mod:`rag.documents.worker`) imports one only when a file of its kind arrives, so the
service itself never loads python-docx, openpyxl or the OCR stack, and a crafted file
runs them only inside a bounded worker. Every extractor has one signature,
``extract(data, name, limits) -> Extracted``, and turns any failure of its parser into one
:class:`~rag.core.errors.IngestError` line (see :func:`rag.documents.formats.unreadable`).

Plain text and Markdown are read in the calling process: decoding UTF-8 needs no parser.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rag.documents.ocr import OcrOptions

#: Kinds read in the calling process, without a worker.
IN_PROCESS = ("text", "markdown")


@dataclass(frozen=True)
class ExtractLimits:
    """What one file may make an extractor do, past which it is a
    :class:`~rag.core.errors.LimitExceeded` (a 413/422 of its own, one line).

    ``max_pages`` bounds pages, slides and sheets alike; ``max_entries`` and
    ``max_unpacked_bytes`` bound a zip container (DOCX, XLSX, ODT, EPUB, …) before any
    member is read, so that a zip bomb is refused by its directory, not by unpacking it.
    ``ocr`` bounds the OCR of scanned PDF pages (:mod:`rag.documents.ocr`)."""

    max_pages: int = 2000
    max_text_bytes: int = 5 * 1024 * 1024
    max_entries: int = 10_000
    max_unpacked_bytes: int = 200 * 1024 * 1024
    ocr: OcrOptions = field(default_factory=OcrOptions)


@dataclass(frozen=True)
class Kind:
    """One file type: its name, the suffixes that say it, what to call it in a message,
    and its extractor (``"module:function"``)."""

    name: str
    suffixes: tuple[str, ...]
    label: str
    extractor: str = ""


KINDS: tuple[Kind, ...] = (
    Kind("text", (".txt",), "text file"),
    Kind("markdown", (".md", ".markdown"), "Markdown file"),
    Kind("html", (".html", ".htm", ".xhtml"), "HTML page", "rag.documents.formats:read_html"),
    Kind("pdf", (".pdf",), "PDF", "rag.documents.formats:read_pdf"),
    Kind("docx", (".docx",), "Word document", "rag.documents.office:extract_docx"),
    Kind("pptx", (".pptx",), "PowerPoint presentation", "rag.documents.office:extract_pptx"),
    Kind("xlsx", (".xlsx", ".xlsm"), "Excel workbook", "rag.documents.sheets:extract_xlsx"),
    Kind("csv", (".csv", ".tsv"), "CSV file", "rag.documents.sheets:extract_csv"),
    Kind("odt", (".odt",), "OpenDocument text", "rag.documents.opendocument:extract_odt"),
    Kind("ods", (".ods",), "OpenDocument spreadsheet", "rag.documents.opendocument:extract_ods"),
    Kind("odp", (".odp",), "OpenDocument presentation", "rag.documents.opendocument:extract_odp"),
    Kind("epub", (".epub",), "EPUB book", "rag.documents.epub:extract_epub"),
    Kind("eml", (".eml",), "e-mail", "rag.documents.mail:extract_eml"),
    Kind("msg", (".msg",), "Outlook message", "rag.documents.mail:extract_msg"),
    Kind("rtf", (".rtf",), "RTF document", "rag.documents.rtf:extract_rtf"),
)
BY_NAME = {kind.name: kind for kind in KINDS}
BY_SUFFIX = {suffix: kind for kind in KINDS for suffix in kind.suffixes}
#: every suffix the service reads, in the table's order
SUPPORTED_SUFFIXES = tuple(BY_SUFFIX)


def kind_of(name: str, data: bytes) -> str:
    """The kind of a file: a PDF by its signature whatever its name, else by the name's
    suffix, else an HTML page by its first tag (a page saved without a suffix); anything
    else is "text", for the caller to accept or refuse by its name."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    kind = BY_SUFFIX.get(Path(name.lower()).suffix)
    if kind is not None:
        return kind.name
    if data[:1024].lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return "html"
    return "text"


def label(kind: str) -> str:
    """What a message calls a kind ("PDF", "Word document")."""
    found = BY_NAME.get(kind)
    return found.label if found is not None else kind


def extractor(kind: str) -> Callable:
    """The extractor of ``kind``, imported now (in the worker)."""
    module, _, function = BY_NAME[kind].extractor.partition(":")
    return getattr(importlib.import_module(module), function)
