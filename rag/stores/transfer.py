"""Copying an index into another store (``rag migrate``): every document with its
passages and their vectors (nothing embedded again), and the users' feedback, which
points into those documents by id and offset and would otherwise be left behind.

Run twice, it copies nothing twice: a document already stored is not stored again (the
store contract), nor a verdict whose id the target holds.

Example::

    from rag.stores.transfer import copy_index

    copied = copy_index(sqlite_store, milvus_store)
    print(copied.documents, copied.passages, copied.feedback)
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.stores.base import DocumentStore


@dataclass(frozen=True)
class Copied:
    """What a copy added to the target: documents, their passages, verdicts."""

    documents: int
    passages: int
    feedback: int


def copy_index(source: DocumentStore, target: DocumentStore) -> Copied:
    """Copy what ``source`` holds into ``target``, a batch of documents at a time."""
    documents = passages = 0
    for items in source.export():
        results = target.add_many(items)
        for (_, created), (_, chunks, _) in zip(results, items, strict=True):
            documents += created
            passages += len(chunks) if created else 0
    held = {verdict.id for verdict in target.feedback()}
    verdicts = [verdict for verdict in source.feedback() if verdict.id not in held]
    for verdict in verdicts:
        target.add_feedback(verdict)
    return Copied(documents, passages, len(verdicts))
