"""Retrieval-augmented extractive question answering.

The packages, in the order data flows through them: :mod:`rag.core` (types, settings,
errors), :mod:`rag.documents` (ingest, chunking), :mod:`rag.stores` (SQLite + FAISS,
Milvus), :mod:`rag.retrieval`, :mod:`rag.reading` and :mod:`rag.service` (the
:class:`~rag.service.Pipeline`); :mod:`rag.evaluation` and :mod:`rag.training` sit on
top, and :mod:`rag.cli` and ``api`` are shells around the service.

Start with :class:`rag.Pipeline` (its module, :mod:`rag.service.pipeline`, shows a
whole question answered).
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
