"""What every store accepts of a document: one set of bounds, so that both backends accept
the same documents.

Milvus keeps a document's title and source in VARCHAR fields of 1,024, its metadata
(JSON) and each passage in fields of 65,535; a Milvus server counts UTF-8 bytes, Milvus
Lite characters. SQLite has no such limits, so a PDF of many pages (its ``page_starts``)
was stored by SQLite and a 500 on Milvus (issue 32). The bounds below fit Milvus in
either count, and both stores refuse what passes them (:class:`IngestError`, a 422 that
says which bound), before anything is embedded.

A document's text has no bound here: Milvus stores it in parts (``PART_CHARS``).
"""

from __future__ import annotations

import json

from rag.core.errors import IngestError
from rag.core.types import Chunk, Document

#: A title or source: at most 1,024 bytes even at 4 bytes a character.
MAX_TITLE_CHARS = 256
MAX_SOURCE_CHARS = 256
#: The metadata as stored (JSON, UTF-8): Milvus' VARCHAR limit. A PDF's ``page_starts``
#: takes 8 to 10 bytes a page: 6,500 to 8,000 pages fit (10,000 one-line pages: 76 kB).
MAX_METADATA_BYTES = 65_535
#: A passage as stored, at 4 bytes a character (the chunker cuts at 2,000 characters).
MAX_PASSAGE_CHARS = 16_000


def metadata_json(metadata: dict) -> str:
    """The metadata as both stores keep it."""
    return json.dumps(metadata, ensure_ascii=False)


def check_document(document: Document) -> None:
    """Refuse a document past a bound, saying which and by how much."""
    if len(document.title) > MAX_TITLE_CHARS:
        raise IngestError(
            f"the title has {len(document.title)} characters (at most {MAX_TITLE_CHARS})"
        )
    if len(document.source) > MAX_SOURCE_CHARS:
        raise IngestError(
            f"the source name has {len(document.source)} characters (at most {MAX_SOURCE_CHARS})"
        )
    size = len(metadata_json(document.metadata).encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        pages = document.metadata.get("pages")
        hint = f" ({pages} pages: split the PDF)" if isinstance(pages, int) else ""
        raise IngestError(
            f"the document's metadata takes {size:,} bytes (at most {MAX_METADATA_BYTES:,}){hint}"
        )


def check_chunks(chunks: list[Chunk]) -> None:
    """Refuse passages longer than a store keeps (the chunker's are far shorter)."""
    for chunk in chunks:
        if len(chunk.text) > MAX_PASSAGE_CHARS:
            raise IngestError(
                f"passage {chunk.index} of {chunk.doc_id} has {len(chunk.text):,} characters "
                f"(at most {MAX_PASSAGE_CHARS:,})"
            )
