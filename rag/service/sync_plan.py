"""What a sync of a folder must do, decided from the folder, the manifest and the store
(no I/O here: :mod:`rag.service.sync` looks at the files and carries the plan out).

The target is a function of the folder alone, so that a sync after any crash ends where a
clean build would: one document for each distinct content among the readable files, with
the id of the first path (in sorted order) that holds it. The store keeps one document
per content in a collection, so two files with the same text share a document; when the
first is deleted, the document moves to the next one's id (the deletion of one of two
equal files is never missed, and never takes the other's text away).

A document is the sync's own when its id is the id of the path it was written for
(:func:`rag.service.folder.sync_id`): only those are ever moved or deleted. A document
already holding a file's content under another id (uploaded, or from ``rag index``) is
shared, not taken over.

Each distinct content is either *kept* (a file holding it has a manifest row that the
store confirms: its document is there with as many passages as recorded, its content
and the parser and model versions unchanged, no write of it pending) or *written*. A
write removes, in the same store write, the sync's documents that hold its content under
another id (a rename: the old id goes as the new one is stored, its vectors reused), so
the store never refuses the new id as a duplicate. Whatever of the sync's documents is
neither kept nor written is deleted last; a file that could not be read keeps its
previous document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from rag.core.types import Document
from rag.service.folder import FileState, sync_id
from rag.service.manifest import Entry


@dataclass(frozen=True)
class Seen:
    """A file of the folder once looked at: its document's content hash and its bytes'
    hash (the manifest's where it was not read), and its document where it was parsed."""

    state: FileState
    content_hash: str
    file_hash: str
    document: Document | None = None


@dataclass(frozen=True)
class Known:
    """What the manifest and the store say before the sync: the rows of this (collection,
    root), the writes begun and not recorded, the stored documents of the collection
    (id: passages), and the current (parser, model) versions."""

    collection: str
    entries: dict[str, Entry]
    pending: list[tuple[str, str]]
    stored: dict[str, int]
    versions: tuple[str, str]

    @cached_property
    def owned(self) -> set[str]:
        """The documents this sync wrote: their id is their path's."""
        rows = [(e.path, e.doc_id) for e in self.entries.values()] + self.pending
        return {doc_id for path, doc_id in rows if sync_id(self.collection, path) == doc_id}

    @cached_property
    def pending_paths(self) -> set[str]:
        return {path for path, _ in self.pending}

    @cached_property
    def pending_docs(self) -> set[str]:
        return {doc_id for _, doc_id in self.pending}

    @cached_property
    def holders(self) -> dict[str, set[str]]:
        """The sync's documents that hold (or may hold) each content: by the rows' content
        hashes, and a pending write's under its file's recorded content (looked up once:
        a folder of 10,000 renamed files must not compare every row with every file)."""
        found: dict[str, set[str]] = {}
        for entry in self.entries.values():
            found.setdefault(entry.content_hash, set()).add(entry.doc_id)
        for path, doc_id in self.pending:
            if path in self.entries:
                found.setdefault(self.entries[path].content_hash, set()).add(doc_id)
        return {digest: ids & self.owned for digest, ids in found.items()}

    @cached_property
    def pending_at(self) -> dict[str, set[str]]:
        """The documents of the writes pending for each path."""
        found: dict[str, set[str]] = {}
        for path, doc_id in self.pending:
            found.setdefault(path, set()).add(doc_id)
        return found


@dataclass(frozen=True)
class Keep:
    """A content whose document is there: ``members`` are recorded as holding it."""

    doc_id: str
    passages: tuple[int, ...]
    members: list[str]
    content_hash: str


@dataclass
class Write:
    """A content to store under ``doc_id`` from the file ``owner``, removing ``remove``
    in the same write."""

    doc_id: str
    owner: str
    content_hash: str
    members: list[str]
    remove: set[str] = field(default_factory=set)


@dataclass
class Plan:
    kept: list[Keep]
    writes: list[Write]
    #: The sync's documents that nothing holds any more (deleted last).
    deletions: list[str]
    #: Of those, the ones a crashed write may have left with any content: removed with the
    #: first write, so that none of them is taken for a file's document.
    early: list[str]
    #: added, changed, unchanged, deleted, renamed (files).
    counts: dict[str, int]
    #: The documents of files that could not be read: kept as they were.
    protected: set[str] = field(default_factory=set)


def make_plan(
    known: Known,
    seen: dict[str, Seen],
    failed: set[str],
    adopt: Callable[[str, str], tuple[int, ...] | None],
) -> Plan:
    """The plan; ``adopt(doc_id, content_hash)`` gives the passage ids of a stored document
    of that id already holding that content (a manifest lost, or a crash before a row was
    written: recorded, not rewritten), else None."""
    owned = known.owned
    pending_docs = known.pending_docs
    protected = {known.entries[p].doc_id for p in failed if p in known.entries}
    groups: dict[str, list[str]] = {}
    for path in sorted(seen):
        groups.setdefault(seen[path].content_hash, []).append(path)
    kept: list[Keep] = []
    unsettled: list[tuple[str, list[str], str]] = []
    adopted: set[str] = set()  # files with no row whose content the store already holds
    for digest, paths in groups.items():
        target = sync_id(known.collection, paths[0])
        found = _confirmed(known, digest, paths, target, owned)
        if found is None and target in known.stored and target not in pending_docs:
            passages = adopt(target, digest)
            found = (target, passages) if passages is not None else None
            adopted |= {p for p in paths if found and p not in known.entries}
        if found is None:
            unsettled.append((digest, paths, target))
        else:
            kept.append(Keep(found[0], found[1], paths, digest))
    settled = {keep.doc_id for keep in kept} | protected
    writes = [
        Write(target, paths[0], digest, paths, _displaced(known, digest, target, paths, owned))
        for digest, paths, target in unsettled
    ]
    for write in writes:
        write.remove -= settled
    doomed = owned - settled - {write.doc_id for write in writes}
    early = sorted(doomed & pending_docs)
    counts = _counts(known, seen, failed, adopted)
    return Plan(kept, writes, sorted(doomed), early, counts, protected)


def _confirmed(
    known: Known, digest: str, paths: list[str], target: str, owned: set[str]
) -> tuple[str, tuple[int, ...]] | None:
    """(document id, passage ids) of the content, where a member's manifest row shows it
    stored as it should be (under ``target``, or shared with a document not the sync's)."""
    for path in paths:
        entry = known.entries.get(path)
        if (
            entry is None
            or path in known.pending_paths
            or entry.doc_id in known.pending_docs
            or entry.content_hash != digest
            or (entry.parser, entry.model) != known.versions
            or known.stored.get(entry.doc_id) != len(entry.passages)
        ):
            continue
        if entry.doc_id == target or entry.doc_id not in owned:
            return entry.doc_id, entry.passages
    return None


def _displaced(
    known: Known, digest: str, target: str, paths: list[str], owned: set[str]
) -> set[str]:
    """What a write of ``digest`` under ``target`` removes: ``target``'s old version, and
    the sync's documents that hold (or, a write of theirs pending, may hold) the content."""
    remove = {target} if target in known.stored or target in owned else set()
    remove |= known.holders.get(digest, set())
    for path in paths:
        remove |= known.pending_at.get(path, set()) & owned
    return remove


def _counts(
    known: Known, seen: dict[str, Seen], failed: set[str], adopted: set[str]
) -> dict[str, int]:
    """Files added, changed, unchanged, deleted and renamed since the last sync; a rename
    is a vanished file and a new one with the same content. A file with no manifest row
    whose document the store holds as it is (``adopted``: the manifest was lost, or the
    file was indexed by ``rag index``) is unchanged, not added."""
    vanished = [p for p in known.entries if p not in seen and p not in failed]
    new = [p for p in seen if p not in known.entries and p not in adopted]
    by_content: dict[str, int] = {}
    for path in vanished:
        digest = known.entries[path].content_hash
        by_content[digest] = by_content.get(digest, 0) + 1
    renamed = 0
    for path in new:
        if by_content.get(seen[path].content_hash, 0) > 0:
            by_content[seen[path].content_hash] -= 1
            renamed += 1
    before = {p: e.content_hash for p, e in known.entries.items()}
    changed = sum(1 for p, s in seen.items() if before.get(p, s.content_hash) != s.content_hash)
    return {
        "added": len(new) - renamed,
        "changed": changed,
        "unchanged": len(seen) - len(new) - changed,
        "deleted": len(vanished) - renamed,
        "renamed": renamed,
    }


def batches(writes: list[Write], size: int) -> Iterator[list[Write]]:
    """Writes in batches of about ``size``; two writes one of which removes the other's
    document go in one batch, whichever comes first (a swap of two files' contents is one
    store write: neither content is ever missing; and a removal of an edited file's old
    version, made for the file that still holds that text, never comes after the edited
    file's new version was stored: it would delete the new one)."""
    by_id = {w.doc_id: w for w in writes}
    ties: dict[str, set[str]] = {w.doc_id: set() for w in writes}
    for write in writes:
        for doc_id in write.remove & by_id.keys() - {write.doc_id}:
            ties[write.doc_id].add(doc_id)
            ties[doc_id].add(write.doc_id)
    done: set[str] = set()
    batch: list[Write] = []
    for write in writes:
        batch += [by_id[doc_id] for doc_id in _linked(write.doc_id, ties, done)]
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _linked(start: str, ties: dict[str, set[str]], done: set[str]) -> Iterator[str]:
    """``start`` and the writes its ties reach, either way, each once."""
    stack = [start]
    while stack:
        current = stack.pop()
        if current in done:
            continue
        done.add(current)
        yield current
        stack += [d for d in ties[current] if d not in done]
