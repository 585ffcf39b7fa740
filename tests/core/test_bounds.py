"""The bounds every store keeps (rag/core/bounds.py): what is refused, and the message."""

from __future__ import annotations

import pytest

from rag.core import bounds
from rag.core.errors import IngestError
from rag.core.types import Document


def _document(**fields) -> Document:
    return Document(**{"doc_id": "d", "title": "T", "text": "text", **fields})


def test_a_pdf_of_too_many_pages_is_refused_with_its_page_count():
    """A PDF's page_starts grow with its pages: 10,000 pages pass Milvus' 65,535."""
    starts = list(range(0, 10_000_000, 1_000))
    with pytest.raises(IngestError, match=r"at most 65,535\) \(10000 pages: split the PDF\)"):
        bounds.check_document(_document(metadata={"pages": 10_000, "page_starts": starts}))
    bounds.check_document(_document(metadata={"pages": 5_000, "page_starts": starts[:5_000]}))


def test_titles_and_sources_are_bounded_in_characters():
    bounds.check_document(_document(title="😀" * 256, source="é" * 256))
    with pytest.raises(IngestError, match="title has 257 characters"):
        bounds.check_document(_document(title="t" * 257))
    with pytest.raises(IngestError, match="source name has 300 characters"):
        bounds.check_document(_document(source="s" * 300))
