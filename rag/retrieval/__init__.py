"""Finding passages: the embedding model and hybrid (dense + BM25) retrieval."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.core.exports import lazy_getattr

if TYPE_CHECKING:
    from rag.retrieval.embedding import Embedder
    from rag.retrieval.hybrid import HybridRetriever

#: public name → the module that defines it, imported on first use (the
#: modules load torch or other heavy libraries)
_EXPORTS = {
    "Embedder": "rag.retrieval.embedding",
    "HybridRetriever": "rag.retrieval.hybrid",
}
__all__ = [
    "Embedder",
    "HybridRetriever",
]

__getattr__ = lazy_getattr(__name__, _EXPORTS)
