"""``rag reindex`` (and ``rag index --rebuild``): every stored document embedded again.

Use it after changing the embedder, the embedding model or the chunking. The new store is
built beside the index (``<index>.rebuild``) and swapped in only when complete
(:func:`rag.stores.sqlite.files.replace_store`): an interrupted rebuild leaves the index
as it was. Only the store's files are replaced; the API keys, jobs and sync manifest of
the folder stay, the feedback is carried over (documents keep their ids and texts), and
the manifest's rows learn the new passages, so the next sync embeds nothing.

The rebuild holds the index's lock exclusively: it refuses to start while a server, a
sync or an index run has the index open (their writes would be lost), and they refuse to
open it while it runs.

Example::

    from rag.core.settings import get_settings
    from rag.service.rebuild import rebuild_index

    documents = rebuild_index(get_settings())
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from tqdm import tqdm

from rag.core import compute
from rag.core.errors import StoreError
from rag.core.settings import Settings
from rag.documents.chunking import Chunker
from rag.documents.parsing import Parser
from rag.retrieval.embedders import embedder_for
from rag.retrieval.embedding import Embedder
from rag.service.indexing import Indexer
from rag.service.manifest import MANIFEST_NAME, Manifest
from rag.service.sync import parser_version
from rag.stores import open_store
from rag.stores.sqlite import files
from rag.stores.sqlite.db import DB_NAME, read_documents

log = logging.getLogger(__name__)


def rebuild_index(
    settings: Settings, paths: Iterable[Path] = (), embedder: Embedder | None = None
) -> int:
    """Re-embed every stored document, plus ``paths``, into a new store and swap it in;
    the number of documents of the index then. ``embedder``: one already loaded (else the
    settings' for a new index: ``RAG_EMBEDDER``, auto meaning int8)."""
    if settings.store != "sqlite":
        raise StoreError("`rag reindex` rebuilds the sqlite store only (RAG_STORE=sqlite)")
    target = settings.index_dir
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create index folder {target}: {exc.strerror}") from None
    held = files.hold(target, exclusive=True)
    try:
        fresh = target.with_name(target.name + ".rebuild")
        shutil.rmtree(fresh, ignore_errors=True)
        count, versions, passages = _build(settings, target, fresh, list(paths), embedder)
        files.replace_store(fresh, target)
        shutil.rmtree(fresh, ignore_errors=True)
        if (target / MANIFEST_NAME).exists():
            manifest = Manifest(target)
            try:
                manifest.rebuilt(versions, passages)
            finally:
                manifest.close()
        return count
    finally:
        os.close(held)


def _build(
    settings: Settings, target: Path, fresh: Path, paths: list[Path], embedder: Embedder | None
) -> tuple[int, tuple[str, str], dict[str, tuple[int, ...]]]:
    """The new store in ``fresh``, closed: (documents, the versions that made it, each
    rebuilt document's passage ids)."""
    documents = read_documents(target)
    feedback = files.read_feedback(target) if (target / DB_NAME).exists() else []
    embedder = embedder if embedder is not None else embedder_for(settings, new_index=True)
    compute.compute(embedder.warm_up)
    store, _ = open_store(
        fresh, model_id=embedder.identity, dimension=embedder.dimension, flush_seconds=1e9
    )
    chunker = Chunker.from_settings(settings)
    indexer = Indexer(store, embedder, chunker, Parser.from_settings(settings))
    try:
        for lo in tqdm(range(0, len(documents), 256), desc="re-embedding", unit="256 docs"):
            indexer.add_documents(documents[lo : lo + 256])
        _, errors = indexer.index_paths(paths, progress=True)
        for error in errors:
            log.warning("skipped %s", error)
        for entry in feedback:
            store.add_feedback(entry)
        passages = {
            d.doc_id: tuple(c.id for c in store.document_chunks(d.doc_id)) for d in documents
        }
        count = store.counts()[0]
    finally:
        indexer.close()
        store.close()
    return count, (parser_version(chunker), embedder.identity), passages
