"""Documents in: files read and cleaned into :class:`~rag.core.types.Document` objects
(text, Markdown, saved web pages, PDFs), then cut into passages with exact offsets."""

from __future__ import annotations

from rag.documents.chunking import Chunker
from rag.documents.ingest import (
    SUPPORTED_SUFFIXES,
    clean_text,
    iter_files,
    make_document,
    read_bytes,
    read_file,
)

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Chunker",
    "clean_text",
    "iter_files",
    "make_document",
    "read_bytes",
    "read_file",
]
