"""`rag sync`: make the index match a folder (new files added, changed ones replaced,
deleted ones removed, renamed ones moved) and keep a manifest of what was stored.

A file whose size and mtime equal its manifest row is not read. Any other is read and its
bytes hashed (never its name or times): equal bytes only update the row, so touching every
file embeds nothing. A changed file is parsed, and its document written with the stored
vectors of every passage whose text is already in the collection (an edit re-embeds the
passages it changed, a rename nothing). What to write, move and delete is decided by
:mod:`rag.service.sync_plan`; here it is carried out in an order that survives a crash at
any point:

1. a file's intent (path, document id) is recorded in the manifest before its write;
2. the new version is stored, the old one removed in the same store write (a rename's old
   id, a replaced version: never neither);
3. the file's row is recorded, with its passage ids read back from the store: a file
   counts as synced only once its vectors are stored;
4. the documents of vanished files are deleted last, then their rows.

A crash anywhere leaves rows and intents the next sync reconciles against the store (the
source of truth), which makes the index equal to a clean build of the folder. A file that
cannot be read is reported in ``failed`` and its previous version stays indexed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from rag.core.errors import StoreError
from rag.core.filters import DEFAULT_COLLECTION
from rag.core.types import Document
from rag.documents.chunking import Chunker
from rag.service import folder
from rag.service.indexing import BATCH_DOCUMENTS, Indexer
from rag.service.manifest import Entry, Manifest
from rag.service.sync_plan import Known, Plan, Seen, Write, batches, make_plan
from rag.service.sync_read import FolderReader

#: Bump when reading or cleaning a file changes what its text is: every file is re-read
#: (its passages' vectors are still reused).
READER_VERSION = "1"
#: Documents written per store write (each batch is recorded once stored), deleted per one.
SYNC_BATCH, DELETE_BATCH = BATCH_DOCUMENTS, 512


def parser_version(chunker: Chunker) -> str:
    """What makes a file's passages: the reader's version and the chunking settings."""
    c = chunker
    return f"{READER_VERSION}/{c.target_words}/{c.max_words}/{c.overlap_words}/{c.max_chars}"


@dataclass
class SyncReport:
    """Files added, changed, unchanged, deleted and renamed; the files that failed (their
    previous version kept); passages embedded (the rest reused stored vectors)."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    renamed: int = 0
    failed: list[dict] = field(default_factory=list)
    embedded_passages: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


class FolderSync:
    """One sync of ``root`` into ``collection`` of the indexer's store."""

    def __init__(
        self,
        indexer: Indexer,
        manifest: Manifest,
        root: Path,
        collection: str = DEFAULT_COLLECTION,
        batch: int | None = None,
        allow_empty: bool = False,
    ) -> None:
        """``batch``: documents per store write (default :data:`SYNC_BATCH`);
        ``allow_empty``: a folder found empty deletes what was synced from it (else
        refused: an unmounted drive looks empty)."""
        self.indexer = indexer
        self.store = indexer.store
        self.manifest = manifest
        self.root = Path(root).resolve()
        self.key = str(self.root)
        self.collection = collection
        self.batch = batch or SYNC_BATCH
        self.allow_empty = allow_empty
        self.reader = FolderReader(indexer.parser, self.root, collection)
        self.versions = (parser_version(indexer.chunker), indexer.embedder.identity)
        #: Documents a write that could not be made would have replaced: not deleted.
        self._held: set[str] = set()
        #: The sync's own documents, and those confirmed as they are (set by :meth:`run`).
        self._owned: set[str] = set()
        self._settled: set[str] = set()
        #: The sync's documents it neither keeps nor writes (deleted last, or kept for a
        #: file that could not be read), and (path, document) of the rows that named one
        #: before they were rewritten: intents until the document is deleted.
        self._stranded: set[str] = set()
        self._left: list[tuple[str, str]] = []

    def run(self, progress: bool = False) -> SyncReport:
        """Sync once (holding the index's sync lock); what changed."""
        if not self.root.is_dir():
            raise StoreError(f"{self.root}: no such folder")
        with self.manifest.lock():
            self._claim_root()
            known = Known(
                self.collection,
                self.manifest.entries(self.collection, self.key),
                self.manifest.pending(self.collection, self.key),
                {d.doc_id: d.chunks for d in self.store.documents([self.collection])},
                self.versions,
            )
            seen, failed = self.reader.look(folder.scan(self.root), known)
            if not seen and not failed and known.entries and not self.allow_empty:
                raise StoreError(
                    f"{self.root} holds no files, but {len(known.entries)} were synced from "
                    "it: nothing deleted (an unmounted drive looks empty); if they are gone, "
                    "sync with --allow-empty"
                )
            plan = make_plan(known, seen, set(failed), self._adopt)
            self._owned, self._settled = known.owned, {k.doc_id for k in plan.kept}
            self._stranded = set(plan.deletions) | (plan.protected & known.owned - self._settled)
            self._keep(plan, seen, known)
            embedded = self._write(plan, seen, known, failed, progress)
            self._delete(plan, seen, known, failed)
        report = SyncReport(**plan.counts, embedded_passages=embedded)
        report.failed = [{"file": p, "detail": failed[p]} for p in sorted(failed)]
        return report

    def _claim_root(self) -> None:
        """One folder per collection (ids come from paths, so two folders would take each
        other's documents); a folder that moved (its old path gone) takes over its rows."""
        for other in self.manifest.roots(self.collection):
            if other == self.key:
                continue
            if Path(other).exists():
                raise StoreError(
                    f"collection {self.collection!r} is kept in sync with {other}: sync "
                    f"{self.root} into another collection (--collection)"
                )
            self.manifest.move_root(self.collection, other, self.key)

    def _adopt(self, doc_id: str, content_hash: str) -> tuple[int, ...] | None:
        """The passage ids of a stored document already holding this content."""
        document = self.store.document(doc_id)
        if document is None or document.content_hash != content_hash:
            return None
        return tuple(c.id for c in self.store.document_chunks(doc_id))

    def _keep(self, plan: Plan, seen: dict[str, Seen], known: Known) -> None:
        """Rows for the contents already stored (only those that differ)."""
        rows = [
            self._entry(path, seen[path], keep.doc_id, keep.passages)
            for keep in plan.kept
            for path in keep.members
        ]
        changed = [row for row in rows if known.entries.get(row.path) != row]
        if changed:
            left = self._leaving([row.path for row in changed], known, set())
            self.manifest.record(self.collection, self.key, changed, begun=left)

    def _leaving(self, paths: list[str], known: Known, removed: set[str]) -> list[tuple[str, str]]:
        """(path, document) of the rows about to be rewritten or removed that name a
        document of the sync staying after this write (deleted last, or kept for a file
        that could not be read): kept as intents, or that document would stay in the store
        with nothing saying it is the sync's, never deleted (after a crash before the
        deletions, or for good)."""
        left = []
        for path in paths:
            old = known.entries.get(path)
            if old is not None and old.doc_id in self._stranded and old.doc_id not in removed:
                left.append((path, old.doc_id))
        self._left += left
        return left

    def _entry(self, path: str, seen: Seen, doc_id: str, passages: tuple[int, ...]) -> Entry:
        state = seen.state
        return Entry(
            path, state.size, state.mtime_ns, seen.file_hash, seen.content_hash, doc_id,
            *self.versions, passages,
        )  # fmt: skip

    def _write(
        self, plan: Plan, seen: dict[str, Seen], known: Known, failed: dict, progress: bool
    ) -> int:
        """Carry out the writes, a batch at a time; the passages embedded."""
        embedded = 0
        early = set(plan.early)  # with the first batch
        quiet = not progress or not plan.writes
        bar = tqdm(total=len(plan.writes), desc="syncing", unit="doc", disable=quiet)
        with bar:
            for batch in batches(plan.writes, self.batch):
                embedded += self._write_batch(batch, seen, known, failed, early)
                early = set()
                bar.update(len(batch))
        return embedded

    def _write_batch(
        self, batch: list[Write], seen: dict[str, Seen], known: Known, failed: dict, early: set[str]
    ) -> int:
        """Intents, one store write, then the files' rows; the passages embedded."""
        documents, ready = [], []
        for write in batch:
            document = self.reader.owner_document(write, seen, failed)
            if document is None:
                self._held |= write.remove  # its files' documents stay as they were
            else:
                documents.append(document)
                ready.append(write)
        remove = early.union(*(w.remove for w in ready))
        intents = [(m, w.doc_id) for w in ready for m in w.members]
        self.manifest.begin(self.collection, self.key, intents)
        results, embedded = self.indexer.write(documents, sorted(remove), reuse=True)
        embedded += self._retake(ready, documents, results)
        rows = []
        for write, (stored, _) in zip(ready, results, strict=True):
            passages = tuple(c.id for c in self.store.document_chunks(stored.doc_id))
            rows += [self._entry(m, seen[m], stored.doc_id, passages) for m in write.members]
        left = self._leaving([row.path for row in rows], known, remove)
        self.manifest.record(self.collection, self.key, rows, done=intents, begun=left)
        return embedded

    def _retake(self, ready: list[Write], documents: list[Document], results: list) -> int:
        """Make again, with that document removed, each write the store answered with
        another of the sync's documents already holding its content: a write of it was
        killed before its row, so the manifest did not know, and it is about to be
        rewritten or deleted. ``results`` is updated; the passages embedded."""
        stray = {
            i: stored.doc_id
            for i, (write, (stored, _)) in enumerate(zip(ready, results, strict=True))
            if stored.doc_id != write.doc_id and stored.doc_id in self._owned - self._settled
        }
        if not stray:
            return 0
        remove = set(stray.values()) | {ready[i].doc_id for i in stray}
        again, embedded = self.indexer.write(
            [documents[i] for i in stray], sorted(remove), reuse=True
        )
        for i, result in zip(stray, again, strict=True):
            results[i] = result
        return embedded

    def _delete(self, plan: Plan, seen: dict[str, Seen], known: Known, failed: dict) -> None:
        """Delete the sync's documents nothing holds, then forget vanished files and the
        intents now settled (a failed file's, and those of documents a write could not
        replace, are kept: such a document may hold what a killed write left; those of
        documents kept for a file that could not be read, until they are deleted). A
        vanished file's row naming a document that stays leaves an intent for it."""
        doomed = [doc_id for doc_id in plan.deletions if doc_id not in self._held]
        for lo in range(0, len(doomed), DELETE_BATCH):
            self.indexer.write([], doomed[lo : lo + DELETE_BATCH])
        gone = [p for p in known.entries if p not in seen and p not in failed]
        intents, kept = known.pending + self._left, self._held | plan.protected
        left = self._leaving(gone, known, set(doomed))
        settled = [(p, d) for p, d in intents if p not in failed and d not in kept]
        self.manifest.record(self.collection, self.key, [], gone=gone, done=settled, begun=left)
