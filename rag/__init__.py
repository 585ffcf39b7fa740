"""Retrieval-augmented extractive question answering.

The packages, in the order data flows through them: :mod:`rag.core` (types, settings,
errors), :mod:`rag.documents` (ingest, chunking), :mod:`rag.stores` (SQLite + FAISS,
Milvus), :mod:`rag.retrieval`, :mod:`rag.reading` and :mod:`rag.service` (the
:class:`~rag.service.Pipeline`); :mod:`rag.evaluation` and :mod:`rag.training` sit on
top, and :mod:`rag.cli` and ``api`` are shells around the service.

Usage::

    from rag import Pipeline, Settings

    pipeline = Pipeline(Settings(docs_dir="seeds", index_dir="/tmp/rag-index"))
    pipeline.load()  # models and index, once
    pipeline.ensure_index()  # index docs_dir on first use
    result = pipeline.ask("Where was Kim invited?")
    print(result.answer, round(result.confidence, 2))  # Moscow 1.0
    pipeline.close()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.core.exports import lazy_getattr

if TYPE_CHECKING:
    from rag.core.settings import Settings
    from rag.service.pipeline import Pipeline

__version__ = "0.1.0"

_EXPORTS = {"Pipeline": "rag.service.pipeline", "Settings": "rag.core.settings"}
__all__ = ["Pipeline", "Settings", "__version__"]
__getattr__ = lazy_getattr(__name__, _EXPORTS)
