"""Document stores: the contract (:mod:`rag.stores.base`) and the factory that picks a
backend from the settings. SQLite + FAISS (:mod:`rag.stores.sqlite`) is the default;
Milvus (:mod:`rag.stores.milvus`) is imported only when chosen, so that pymilvus stays
optional.

Usage::

    from rag.stores import open_store

    store, repaired = open_store(Path("index"), model_id="all-MiniLM-L6-v2", dimension=384)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rag.core.errors import IndexMismatchError, StoreError
from rag.core.settings import Settings
from rag.core.types import Reconciliation
from rag.stores.base import DocumentStore, check_items

__all__ = [
    "DocumentStore",
    "IndexMismatchError",
    "Reconciliation",
    "StoreError",
    "check_items",
    "index_exists",
    "open_store",
    "recorded_model",
    "store_options",
]


def store_options(settings: Settings) -> dict:
    """The keyword arguments of :func:`open_store` that the settings decide."""
    token = settings.milvus_token
    return {
        "flush_seconds": settings.vector_flush_seconds,
        "ivf_threshold": settings.ivf_threshold,
        "backend": settings.store,
        "milvus_uri": settings.milvus_uri,
        "milvus_token": token.get_secret_value() if token is not None else None,
        "milvus_index": settings.milvus_index,
    }


def open_store(
    directory: Path,
    *,
    model_id: str,
    dimension: int | None,
    flush_seconds: float = 0.0,
    ivf_threshold: int | None = None,
    backend: str = "sqlite",
    milvus_uri: str | None = None,
    milvus_token: str | None = None,
    milvus_index: str = "HNSW",
) -> tuple[DocumentStore, Reconciliation]:
    """The store of an index folder (or, for Milvus, of ``milvus_uri``: default a Milvus
    Lite file in the folder), opened; what opening it repaired."""
    if backend == "milvus":
        from rag.stores.milvus.store import MilvusStore

        uri = milvus_uri if milvus_uri is not None else str(Path(directory) / "milvus.db")
        milvus = MilvusStore(
            uri, model_id=model_id, dimension=dimension, token=milvus_token, index_type=milvus_index
        )
        return milvus, milvus.open()
    from rag.stores.sqlite.store import SQLiteStore

    kwargs = {"ivf_threshold": ivf_threshold} if ivf_threshold is not None else {}
    store = SQLiteStore(
        directory, model_id=model_id, dimension=dimension, flush_seconds=flush_seconds, **kwargs
    )
    return store, store.open()


def index_exists(directory: Path, backend: str = "sqlite") -> bool:
    """Whether ``directory`` already holds an index, without opening (or creating) one:
    commands that only read refuse an empty folder. A Milvus index lives on its server,
    which :func:`open_store` asks."""
    if backend == "milvus":
        return True
    from rag.stores.sqlite.db import DB_NAME

    return (Path(directory) / DB_NAME).is_file()


def recorded_model(settings: Settings) -> str | None:
    """The embedding model an existing index of ``settings`` records (its identity, as
    :func:`open_store` checks it), read without opening the index or loading a model;
    None where there is no index yet. ``RAG_EMBEDDER=auto`` embeds with it."""
    if settings.store == "milvus":
        from rag.stores.milvus.connection import recorded_meta

        token = settings.milvus_token
        uri = settings.milvus_uri or str(Path(settings.index_dir) / "milvus.db")
        meta = recorded_meta(uri, token.get_secret_value() if token is not None else None)
        return meta.get("embedding_model")
    from rag.stores.sqlite.db import DB_NAME

    path = Path(settings.index_dir) / DB_NAME
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'embedding_model'").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return None  # opening the index says what is wrong with it
    return row[0] if row else None
