"""The Milvus store (``RAG_STORE=milvus``): Milvus Lite or a Milvus server."""

from __future__ import annotations

from rag.stores.milvus.store import MilvusStore

__all__ = [
    "MilvusStore",
]
