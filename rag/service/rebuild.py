"""``rag reindex`` (and ``rag index --rebuild``): every stored document embedded again.

Use it after changing the embedder, the embedding model or the chunking. The new store is
built beside the index and swapped in only when complete (SQLite:
:func:`rag.stores.sqlite.files.replace_store`; Milvus Lite: :mod:`rag.stores.milvus.lite`):
an interrupted rebuild leaves the index as it was. Only the store is replaced; the API
keys, jobs and sync manifest of the folder stay, the feedback is carried over (documents
keep their ids and texts), and the manifest's rows learn the new passages, so the next
sync embeds nothing.

A rebuild does not run while another process has the index open (their writes would be
lost), nor do they open it while it runs (:mod:`rag.stores.lock`). A Milvus server's
index is not rebuilt.

Example::

    from rag.core.settings import get_settings
    from rag.service.rebuild import rebuild_index

    documents = rebuild_index(get_settings())
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm import tqdm

from rag.core import compute, locations
from rag.core.errors import StoreError
from rag.core.filters import DEFAULT_COLLECTION
from rag.core.settings import Settings
from rag.core.types import Document, Feedback
from rag.documents.chunking import Chunker
from rag.documents.parsing import Parser
from rag.retrieval.embedders import embedder_for
from rag.retrieval.embedding import Embedder
from rag.service.indexing import Indexer
from rag.service.manifest import MANIFEST_NAME, Manifest
from rag.service.sync import parser_version
from rag.stores import lock, open_store, recorded_model, store_options
from rag.stores.sqlite import files
from rag.stores.sqlite.db import make_folder

log = logging.getLogger(__name__)
#: Documents read and re-embedded at a time.
BATCH = 256


@dataclass(frozen=True)
class Added:
    """Files indexed by the rebuild as well, and where they go."""

    paths: list[Path]
    collection: str = DEFAULT_COLLECTION
    metadata: dict | None = None


def rebuild_index(
    settings: Settings,
    paths: Iterable[Path] = (),
    embedder: Embedder | None = None,
    *,
    collection: str = DEFAULT_COLLECTION,
    metadata: dict | None = None,
) -> int:
    """Re-embed every stored document, plus ``paths`` (into ``collection``, with
    ``metadata``), into a new store and swap it in; the number of documents of the index
    then. ``embedder``: one already loaded (else the settings' for a new index:
    ``RAG_EMBEDDER``, auto meaning int8)."""
    added = Added(list(paths), collection, metadata)
    if settings.store == "milvus":
        return _rebuild_milvus_lite(settings, added, embedder)
    target = settings.index_dir
    make_folder(target)
    held = lock.hold(target / files.LOCK_NAME, exclusive=True)
    try:
        documents = files.read_documents(target, BATCH)
        feedback = files.read_feedback(target)
        fresh = target.with_name(target.name + ".rebuild")
        shutil.rmtree(fresh, ignore_errors=True)
        new = {**store_options(settings), "directory": fresh, "flush_seconds": 1e9}
        count, versions, passages = _fill(settings, new, embedder, documents, feedback, added)
        files.replace_store(fresh, target)
        shutil.rmtree(fresh, ignore_errors=True)
        _tell_manifest(target, versions, passages)
        return count
    finally:
        lock.release(held)


def _rebuild_milvus_lite(settings: Settings, added: Added, embedder: Embedder | None) -> int:
    """The same for a Milvus Lite index: read whole, built beside it, swapped in
    (:mod:`rag.stores.milvus.lite`), under the index's lock held exclusively."""
    from rag.stores.milvus import lite  # pymilvus only when Milvus is chosen

    options = store_options(settings)
    uri = settings.milvus_uri or str(settings.index_dir / "milvus.db")
    if not lite.is_lite(uri):
        raise StoreError(
            "`rag reindex` rebuilds SQLite and Milvus Lite indexes, not a Milvus server's: "
            "index the documents into a new one (RAG_MILVUS_URI)"
        )
    Path(uri).parent.mkdir(parents=True, exist_ok=True)
    held = lock.hold(lite.lock_file(uri), exclusive=True)
    try:
        documents, feedback = _exported(settings, options)
        target = Path(uri)
        fresh = target.with_name(f"{target.stem}.rebuild{target.suffix}")  # Lite wants .db
        shutil.rmtree(fresh, ignore_errors=True)
        new = {**options, "directory": settings.index_dir, "milvus_uri": str(fresh)}
        count, versions, passages = _fill(settings, new, embedder, documents, feedback, added)
        lite.swap(fresh, target)
        _tell_manifest(settings.index_dir, versions, passages)
        return count
    finally:
        lock.release(held)


def _exported(settings: Settings, options: dict) -> tuple[list[list[Document]], list[Feedback]]:
    """Every document of a Milvus index in batches (each with its regions gathered from its
    passages, as the chunker wants them), and the feedback: read whole, since the new
    index is built once the old one's Milvus Lite server is stopped."""
    identity = recorded_model(settings)
    if identity is None:
        return [], []
    old, _ = open_store(settings.index_dir, model_id=identity, dimension=None, **options)
    try:
        batches = [
            [replace(d, regions=locations.merged(c.regions for c in chunks)) for d, chunks, _ in b]
            for b in old.export(BATCH)
        ]
        return batches, old.feedback()
    finally:
        old.close()


def _fill(
    settings: Settings,
    new: dict,
    embedder: Embedder | None,
    documents: Iterable[list[Document]],
    feedback: list[Feedback],
    added: Added,
) -> tuple[int, tuple[str, str], dict[str, tuple[int, ...]]]:
    """The new store (``open_store``'s ``new`` options) filled from ``documents`` (in
    batches) and closed: (documents, the versions that made it, each rebuilt document's
    passage ids)."""
    embedder = embedder if embedder is not None else embedder_for(settings, new_index=True)
    compute.compute(embedder.warm_up)
    store, _ = open_store(model_id=embedder.identity, dimension=embedder.dimension, **new)
    chunker = Chunker.from_settings(settings)
    indexer = Indexer(store, embedder, chunker, Parser.from_settings(settings))
    passages: dict[str, tuple[int, ...]] = {}
    try:
        for batch in tqdm(documents, desc="re-embedding", unit=f"{BATCH} docs"):
            indexer.add_documents(batch)
            for d in batch:
                passages[d.doc_id] = tuple(c.id for c in store.document_chunks(d.doc_id))
        _, errors = indexer.index_paths(
            added.paths, progress=True, collection=added.collection, metadata=added.metadata
        )
        for error in errors:
            log.warning("skipped %s", error)
        for entry in feedback:
            store.add_feedback(entry)
        count = store.counts()[0]
    finally:
        indexer.close()
        store.close()
    return count, (parser_version(chunker), embedder.identity), passages


def _tell_manifest(
    index_dir: Path, versions: tuple[str, str], passages: dict[str, tuple[int, ...]]
) -> None:
    """The sync manifest's rows learn the rebuilt passages (if the index has one)."""
    if (index_dir / MANIFEST_NAME).exists():
        manifest = Manifest(index_dir)
        try:
            manifest.rebuilt(versions, passages)
        finally:
            manifest.close()
