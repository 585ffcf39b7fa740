"""Indexing: files → documents → chunks → vectors → store.

Documents are chunked, and the chunks of many documents embedded together: the
model batches (and length-sorts) them, which is most of the cost. Each batch of
documents is stored in one transaction, so a document is answerable as soon as
its batch returns and a crash never leaves half of one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from rag.core import compute
from rag.core.bounds import check_document
from rag.core.errors import ShuttingDown
from rag.core.filters import DEFAULT_COLLECTION
from rag.core.selection import place
from rag.core.settings import Settings
from rag.core.types import Chunk, Document
from rag.documents import ingest
from rag.documents.chunking import Chunker
from rag.documents.parsing import Parser
from rag.retrieval.embedders import embedder_for
from rag.retrieval.embedding import Embedder
from rag.service.progress import PassageBar, Progress
from rag.stores import DocumentStore, Reconciliation, open_store, store_options

log = logging.getLogger(__name__)
#: Documents read, embedded and stored together when indexing files.
BATCH_DOCUMENTS = 256
#: Passages embedded per compute job: what a question may wait behind an upload.
SLICE = 16


def open_index(settings: Settings, embedder: Embedder) -> tuple[DocumentStore, Reconciliation]:
    """The store of ``settings.index_dir`` for ``embedder``'s vectors (its model must have
    built the index); repairs of derived data are logged, since they mean a crash or an
    outside change."""
    store, report = open_store(
        settings.index_dir,
        model_id=embedder.identity,
        dimension=embedder.dimension,
        **store_options(settings),
    )
    if report.added or report.removed or report.rebuilt:
        log.warning(
            "index %s repaired: %d vectors added, %d removed%s",
            settings.index_dir,
            report.added,
            report.removed,
            ", dense index rebuilt" if report.rebuilt else "",
        )
    return store, report


@contextmanager
def indexer_for(settings: Settings) -> Iterator[Indexer]:
    """An indexer over the index of ``settings``, closed on exit: for commands that only
    write, so that no reader model is loaded."""
    embedder = embedder_for(settings)
    compute.compute(embedder.warm_up)
    store, _ = open_index(settings, embedder)
    indexer = Indexer(
        store, embedder, Chunker.from_settings(settings), Parser.from_settings(settings)
    )
    try:
        yield indexer
    finally:
        indexer.close()
        store.close()


class Indexer:
    """Adds and deletes documents of one store; writes are serialised. Files are read,
    and long texts split into passages, through ``parser``, which bounds their time and
    memory (default limits unless given; its workers start when first needed).

    :meth:`stop` (SIGTERM) ends every write under way within about a second, with
    :class:`ShuttingDown` and nothing stored: the parse or split is killed, an embedding
    stops at its next slice. A write already storing finishes (one transaction)."""

    def __init__(
        self,
        store: DocumentStore,
        embedder: Embedder,
        chunker: Chunker,
        parser: Parser | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.parser = parser if parser is not None else Parser()
        self._write_lock = threading.Lock()
        self._stopping = threading.Event()
        self._closed = False

    def add_documents(
        self, documents: list[Document], progress: Progress | None = None
    ) -> list[tuple[Document, bool]]:
        """Chunk, embed (on the compute thread) and store; (stored, created?) for each.
        A document past the stores' bounds is refused before anything is embedded.
        ``progress``: passages embedded, before each slice (:mod:`rag.service.progress`)."""
        return self.write(documents, progress=progress)[0]

    def write(
        self,
        documents: list[Document],
        remove: Iterable[str] = (),
        reuse: bool = False,
        progress: Progress | None = None,
    ) -> tuple[list[tuple[Document, bool]], int]:
        """:meth:`add_documents`, removing the documents of ``remove`` in the same store
        write (:meth:`rag.stores.base.DocumentStore.add_many`): (results, passages
        embedded).

        ``reuse``: a passage whose text a stored passage of its collection holds takes
        that vector, and each new text is embedded once, so that an edited file
        re-embeds its changed passages only and a renamed one nothing (``rag sync``).
        The passage itself (offsets, order, regions) is always the new chunking's."""
        for document in documents:
            check_document(document)
        chunked = [(document, self.parser.split(self.chunker, document)) for document in documents]
        vectors, embedded = self._vectors(chunked, reuse, progress)
        items, at = [], 0
        for document, chunks in chunked:
            items.append((document, chunks, vectors[at : at + len(chunks)]))
            at += len(chunks)
        with self._write_lock:
            if self._closed:
                raise ShuttingDown
            return self.store.add_many(items, remove), embedded

    def _vectors(
        self, chunked: list[tuple[Document, list[Chunk]]], reuse: bool, progress: Progress | None
    ) -> tuple[np.ndarray, int]:
        """One vector per chunk, in order, and how many texts were embedded."""
        keys = [(d.collection, c.text) for d, chunks in chunked for c in chunks]
        if not reuse:
            return self.embed([text for _, text in keys], progress), len(keys)
        known: dict[tuple[str, str], np.ndarray] = {}
        for collection in sorted({c for c, _ in keys}):
            found = self.store.vectors_for_texts(
                collection, [t for c, t in keys if c == collection]
            )
            known.update(((collection, text), vector) for text, vector in found.items())
        missing = list(dict.fromkeys(key for key in keys if key not in known))
        if missing:  # else no model is loaded: a sync that moves files embeds nothing
            known.update(zip(missing, self.embed([t for _, t in missing], progress), strict=True))
        out = np.zeros((len(keys), len(next(iter(known.values()), ()))), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = known[key]
        return out, len(missing)

    def embed(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """Embeddings of ``texts``, computed :data:`SLICE` at a time on the compute thread.

        Questions share that thread: each slice is its own job, so a question asked
        during a large upload waits for one slice (under a second on 2 cores), not
        for the whole document. The texts are sorted by length first, so that slices
        pad as little as one long block would.
        """
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.embedder.dimension), dtype=np.float32)
        for lo in range(0, len(order), SLICE):
            if self._stopping.is_set():  # minutes of embedding must not hold a shutdown
                raise ShuttingDown
            if progress is not None:  # it may raise: a cancelled job stops here
                progress(lo, len(texts))
            rows = order[lo : lo + SLICE]
            out[rows] = compute.compute(self.embedder.embed, [texts[i] for i in rows])
        if progress is not None:
            progress(len(texts), len(texts))
        return out

    def index_paths(
        self,
        paths: Iterable[Path],
        progress: bool = False,
        batch_documents: int = BATCH_DOCUMENTS,
        *,
        collection: str = DEFAULT_COLLECTION,
        metadata: dict | None = None,
    ) -> tuple[list[tuple[Document, bool]], list[str]]:
        """Index every supported file under ``paths`` into ``collection``, each with
        ``metadata`` added to what its parser found: (results, one error line per bad file).

        A file that cannot be read (not UTF-8, binary, empty, a PDF or page past the
        parser's limits or that breaks it) is skipped and reported, so that one bad file
        does not stop a folder from being indexed.
        """
        files = list(ingest.iter_files(paths))
        results: list[tuple[Document, bool]] = []
        errors: list[str] = []
        with PassageBar("indexing", disable=not progress) as bar:  # passages embedded
            for lo in range(0, len(files), batch_documents):
                documents = []
                for path in files[lo : lo + batch_documents]:
                    try:
                        document = _read_checked(path, self.parser, collection, metadata)
                        documents.append(document)
                    except ingest.IngestError as exc:
                        errors.append(str(exc))
                results += self.add_documents(documents, progress=bar.write())
        return results, errors

    def ensure_index(self, docs_dir: Path, progress: bool = False) -> int:
        """Index ``docs_dir`` when the store is empty (first start); documents added."""
        docs, _ = self.store.counts()
        if docs or not docs_dir.is_dir():
            return 0
        results, errors = self.index_paths([docs_dir], progress)
        for error in errors:
            log.warning("skipped %s", error)
        return sum(created for _, created in results)

    def delete(self, doc_id: str) -> bool:
        with self._write_lock:
            if self._closed:
                raise ShuttingDown
            return self.store.delete(doc_id)

    def stop(self) -> None:
        """Abandon the writes under way and refuse new ones (on SIGTERM, from a signal
        handler's thread): nothing waits here."""
        self._stopping.set()
        self.parser.stop()

    def close(self) -> None:
        """:meth:`stop`, then wait for a write already storing, so that the store can be
        closed under no one (a document is stored whole or not at all)."""
        self.stop()
        with self._write_lock:
            self._closed = True


def _read_checked(
    path: Path, parser: Parser, collection: str = DEFAULT_COLLECTION, metadata: dict | None = None
) -> Document:
    """A file's document in its collection, checked against the stores' bounds here, so
    that one file past a bound is reported alone instead of failing its batch."""
    document = place(parser.read_file(path), collection, metadata)
    try:
        check_document(document)
    except ingest.IngestError as exc:
        raise ingest.IngestError(f"{path}: {exc}") from None
    return document
