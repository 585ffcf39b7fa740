"""What a caller may see and change, applied to requests: the collections a question may
read, the documents a caller may get, the collection a write may go to.

One rule keeps collections from leaking into each other: a caller is told nothing of a
collection it may not read. A document or collection outside its scope gets exactly the
404 that one which never existed gets (same status, same message), so that ids and names
cannot be probed; a collection it may read but not write gets a 403 for a write.
Used by the REST routers and the MCP tools alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import HTTPException, status

from api.access import Caller
from rag.core.filters import DEFAULT_COLLECTION, parse_filter, valid_collection
from rag.core.selection import Selection
from rag.core.types import Document
from rag.documents import ingest
from rag.service.pipeline import Pipeline


def no_document(doc_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no document with id {doc_id!r}")


def no_collection(name: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no collection named {name!r}")


def selection(caller: Caller, collections: Sequence[str] | None, filters: dict | None) -> Selection:
    """What a question may read: the collections asked (each one the caller's, else 404),
    or every collection the caller may read; and the filter, checked (422 naming its
    path: :class:`rag.core.filters.FilterError`)."""
    node = parse_filter(filters)
    if collections is None:
        readable = None if caller.collections is None else tuple(sorted(caller.collections))
        return Selection(readable, node)
    for name in collections:
        if not caller.can_read(name):
            raise no_collection(name)
    return Selection(tuple(sorted(set(collections))), node)


def readable_document(pipeline: Pipeline, caller: Caller, doc_id: str) -> Document:
    """The document, or the 404 of a document that does not exist."""
    document = pipeline.store.document(doc_id) if ingest.valid_doc_id(doc_id) else None
    if document is None or not caller.can_read(document.collection):
        raise no_document(doc_id)
    return document


def writable_collection(caller: Caller, collection: str | None) -> str:
    """The collection a write goes to (default: ``default``): 404 if the caller may not
    read it, 403 if it may read but not write there."""
    name = collection if collection is not None else DEFAULT_COLLECTION
    if not valid_collection(name):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "a collection name is 1-63 of a-z, 0-9, '_' and '-', starting with a letter or digit",
        )
    if not caller.can_read(name):
        raise no_collection(name)
    if not caller.can_write(name):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this key may not write to collection {name!r}"
        )
    return name


def deletable_document(pipeline: Pipeline, caller: Caller, doc_id: str) -> Document:
    """A document the caller may delete (404 as :func:`readable_document`, 403 if it may
    only read it)."""
    document = readable_document(pipeline, caller, doc_id)
    writable_collection(caller, document.collection)
    return document


def readable_collections(caller: Caller, pipeline: Pipeline) -> list[dict]:
    """The collections the caller may read, with their document and passage counts; its
    own named collections are listed even while empty (so a page can offer them)."""
    held = pipeline.store.collections()
    names = set(held) | {DEFAULT_COLLECTION} if caller.collections is None else caller.collections
    return [
        {
            "name": name,
            "documents": held.get(name, (0, 0))[0],
            "passages": held.get(name, (0, 0))[1],
        }
        for name in sorted(names)
        if caller.can_read(name)
    ]
