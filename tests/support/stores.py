"""Helpers for the store tests: small random unit vectors, documents split on blank lines."""

from __future__ import annotations

import dataclasses

import numpy as np

from rag.core.locations import regions_within
from rag.core.selection import place
from rag.core.types import Chunk
from rag.documents.ingest import make_document

DIM = 8


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def item(
    text: str,
    doc_id: str | None = None,
    seed: int = 0,
    collection: str = "default",
    metadata: dict | None = None,
    regions: tuple = (),
):
    """What ``add_many`` takes for ``text`` in ``collection`` (with ``metadata`` and the
    locations ``regions``), one chunk per blank-line paragraph: (document, chunks,
    vectors)."""
    doc = place(make_document(text, doc_id=doc_id), collection, metadata)
    doc = dataclasses.replace(doc, regions=regions)
    chunks, pos = [], 0
    for i, part in enumerate(doc.text.split("\n\n")):
        start = doc.text.index(part, pos)
        within = regions_within(regions, start, start + len(part))
        chunks.append(Chunk(doc.doc_id, i, start, start + len(part), part, regions=within))
        pos = start + len(part)
    return doc, chunks, unit_vectors(len(chunks), seed)


def add_text(store, text: str, doc_id: str | None = None, seed: int = 0, **where):
    """Store :func:`item` of ``text`` (``where``: collection, metadata, regions):
    (document, created, vectors)."""
    doc, chunks, vectors = item(text, doc_id, seed, **where)
    stored, created = store.add(doc, chunks, vectors)
    return stored, created, vectors


def text_of(store, chunk_id: int) -> str:
    return store.chunks([chunk_id])[chunk_id][0].text
