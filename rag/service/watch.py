"""Running folder syncs: once from the command line (:func:`sync_folder`), or whenever the
folder changes, beside a running server (:class:`FolderWatch`, ``rag serve --watch``).

A sync that has nothing to embed loads no model: the store of an existing index is opened
with the dimension it records, and the embedding model is loaded by the first passage
that needs a vector (an unchanged folder of 10,000 files syncs in seconds).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.core import compute
from rag.core.errors import ShuttingDown, StoreError
from rag.core.filters import DEFAULT_COLLECTION
from rag.core.settings import Settings
from rag.documents.chunking import Chunker
from rag.documents.parsing import Parser
from rag.retrieval.embedders import embedder_for
from rag.service.indexing import Indexer, open_index
from rag.service.manifest import Manifest
from rag.service.sync import FolderSync, SyncReport
from rag.stores import index_exists, open_store, store_options

log = logging.getLogger(__name__)
#: Quiet time after a change before a watched folder is synced (a copy of many files
#: is one sync), and the longest a stream of changes is gathered.
QUIET_MS, LONGEST_MS = 1_000, 10_000


@contextmanager
def sync_indexer(settings: Settings) -> Iterator[Indexer]:
    """An indexer over the index of ``settings`` whose model loads only if it embeds
    (a new index needs its dimension, hence the model, at once)."""
    embedder = embedder_for(settings)
    store = None
    if index_exists(settings.index_dir, settings.store):  # Milvus: its server knows
        try:
            store, _ = open_store(
                settings.index_dir, model_id=embedder.identity, dimension=None,
                **store_options(settings),
            )  # fmt: skip
        except StoreError as exc:
            if "no rag index" not in str(exc):
                raise
    if store is None:
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


def sync_folder(
    settings: Settings,
    root: Path,
    collection: str = DEFAULT_COLLECTION,
    progress: bool = False,
    allow_empty: bool = False,
) -> SyncReport:
    """Sync ``root`` into ``collection`` of the index of ``settings`` once
    (``allow_empty``: see :class:`FolderSync`)."""
    if not Path(root).is_dir():
        raise StoreError(f"{root}: no such folder")
    with sync_indexer(settings) as indexer:
        manifest = Manifest(settings.index_dir)
        try:
            return FolderSync(indexer, manifest, root, collection, allow_empty=allow_empty).run(
                progress
            )
        finally:
            manifest.close()


def summary(report: SyncReport) -> str:
    """A report in one line."""
    counts = ", ".join(
        f"{getattr(report, name)} {name}"
        for name in ("added", "changed", "unchanged", "deleted", "renamed")
    )
    return f"{counts}, {len(report.failed)} failed; {report.embedded_passages} passages embedded"


class FolderWatch:
    """Syncs ``root`` into ``collection`` at start and after each burst of changes (once
    the folder has been quiet for :data:`QUIET_MS`), in a thread, through the server's
    own indexer (its writes are serialised with uploads; questions are answered
    between its embedding slices). A failed sync is logged and retried at the next
    change; on shutdown the indexer's stop ends a sync under way (its intents are kept,
    and the next start finishes it)."""

    def __init__(
        self,
        indexer: Indexer,
        index_dir: Path,
        root: Path,
        collection: str = DEFAULT_COLLECTION,
        quiet_ms: int = QUIET_MS,
    ) -> None:
        self.indexer = indexer
        self.index_dir = Path(index_dir)
        self.root = Path(root).resolve()
        self.collection = collection
        self.quiet_ms = quiet_ms
        self.syncs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="folder-watch", daemon=True)

    def start(self) -> FolderWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching (a sync under way ends with the indexer's own stop)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        import watchfiles

        self.sync_once()
        changes = watchfiles.watch(
            self.root,
            debounce=LONGEST_MS,
            step=self.quiet_ms,
            stop_event=self._stop,
            raise_interrupt=False,
        )
        for _ in changes:
            if self._stop.is_set():
                return
            self.sync_once()

    def sync_once(self) -> SyncReport | None:
        """One sync, logged; None when it failed (logged) or the service is stopping."""
        manifest = None
        try:
            manifest = Manifest(self.index_dir)
            report = FolderSync(self.indexer, manifest, self.root, self.collection).run()
        except ShuttingDown:
            return None
        except Exception as exc:  # a watch thread must outlive one bad sync
            if self._stop.is_set():  # the store closed under it on shutdown: no matter
                return None
            if isinstance(exc, StoreError):
                log.warning("sync of %s failed: %s", self.root, exc)
            else:
                log.exception("sync of %s failed", self.root)
            return None
        finally:
            if manifest is not None:
                manifest.close()
        self.syncs += 1
        log.info("sync of %s: %s", self.root, summary(report))
        for failure in report.failed:
            log.warning("sync of %s: %s: %s", self.root, failure["file"], failure["detail"])
        return report
