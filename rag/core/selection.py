"""What a filter means: the typed values of a document, the reference evaluation every store
is tested against, the :class:`Selection` a search is restricted to, and the check of a
user's metadata (docs/filters.md has the truth tables).

Usage::

    from rag.core.filters import parse_filter
    from rag.core.selection import Selection

    year = parse_filter({"field": "meta.year", "operator": "==", "value": 2024})
    Selection(("hr",), year).admits(document)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from rag.core.errors import IngestError
from rag.core.filters import (
    BUILTIN_FIELDS,
    DATE_TIME,
    DEFAULT_COLLECTION,
    META_KEY,
    ZONE,
    Comparison,
    Filter,
    Logic,
    parse_instant,
    show,
    storable,
    typed,
    valid_collection,
)


def document_fields(document) -> dict[str, object]:
    """The filterable fields of a document (a :class:`rag.core.types.Document`)."""
    fields = {
        "doc_id": document.doc_id,
        "title": document.title,
        "source": document.source,
        "collection": document.collection,
        "created_at": document.created_at,
    }
    for key, value in document.metadata.items():
        if isinstance(key, str) and META_KEY.match(key):
            fields["meta." + key] = value
    return fields


def field_rows(document) -> Iterator[tuple[str, str, object]]:
    """(field, kind, value) for every filterable value of a document: what the stores
    index (one row per element of a list; nothing for null or nested values)."""
    for field, value in document_fields(document).items():
        for element in value if isinstance(value, list) else [value]:
            found = typed(element)
            if found is not None and not (
                field in BUILTIN_FIELDS and found[0] != BUILTIN_FIELDS[field]
            ):
                yield field, found[0], found[1]


def matches(node: Filter | None, document) -> bool:
    """Whether ``document`` passes the filter: the reference semantics."""
    if node is None:
        return True
    rows: dict[str, list[tuple[str, object]]] = {}
    for field, kind, value in field_rows(document):
        rows.setdefault(field, []).append((kind, value))
    return _holds(node, rows)


def _holds(node: Filter, rows: dict[str, list[tuple[str, object]]]) -> bool:
    if isinstance(node, Logic):
        results = (_holds(c, rows) for c in node.conditions)
        if node.operator == "AND":
            return all(results)
        if node.operator == "OR":
            return any(results)
        return not all(results)
    stored = rows.get(node.field, [])
    if node.operator in ("!=", "not in"):
        positive = "==" if node.operator == "!=" else "in"
        return not _holds(Comparison(node.field, positive, node.values), rows)
    return any(
        kind == want_kind and compare(node.operator, value, want)
        for kind, value in stored
        for want_kind, want in node.values
    )


def compare(operator: str, stored: object, wanted: object) -> bool:
    """One stored value against one wanted value of the same kind (``in`` is ``==`` of
    each)."""
    if operator in ("==", "in"):
        return stored == wanted
    if operator == ">":
        return stored > wanted
    if operator == ">=":
        return stored >= wanted
    if operator == "<":
        return stored < wanted
    return stored <= wanted


def canonical(node: Filter | None) -> str:
    """A stable text of a parsed filter (a cache key)."""
    if node is None:
        return ""
    if isinstance(node, Logic):
        return f"{node.operator}(" + ",".join(canonical(c) for c in node.conditions) + ")"
    return f"{node.field} {node.operator} {node.values!r}"


@dataclass(frozen=True)
class Selection:
    """What a search may return: passages of these collections (None: every one) whose
    documents pass ``filter``. The stores resolve it before ranking, never after."""

    collections: tuple[str, ...] | None = None
    filter: Filter | None = None

    @property
    def everything(self) -> bool:
        return self.collections is None and self.filter is None

    def admits(self, document) -> bool:
        """The reference: whether ``document`` is in the selection."""
        if self.collections is not None and document.collection not in self.collections:
            return False
        return matches(self.filter, document)


#: Metadata keys the service sets itself (a PDF's pages, those read by OCR): a user may
#: not set them.
RESERVED_META = ("page_starts", "pages", "format", "ocr_pages")


def check_metadata(metadata: object, path: str = "metadata") -> dict:
    """A user's metadata, checked: a JSON object whose keys are ``META_KEY`` and whose
    values are strings, finite numbers, booleans, RFC 3339 date-times with a zone, or
    lists of those (null is kept, and filters treat it as missing). Raises
    :class:`rag.core.errors.IngestError` naming the path. Returns it fit to store (lone
    surrogates in strings made '?', as filters make theirs)."""
    if not isinstance(metadata, dict):
        raise IngestError(f"{path}: a JSON object of keys and values")
    checked = {}
    for key, value in metadata.items():
        named = isinstance(key, str) and META_KEY.match(key)
        where = f"{path}.{key if named else show(key, 40)}"
        if not named:
            raise IngestError(f"{where}: a key is 1-64 letters, digits, '_' or '-'")
        if key in RESERVED_META:
            raise IngestError(f"{where}: set by the service itself")
        if isinstance(value, list):
            checked[key] = [_checked(v, f"{where}[{i}]") for i, v in enumerate(value)]
        else:
            checked[key] = _checked(value, where)
    return checked


def _checked(value: object, at: str) -> object:
    if isinstance(value, str):
        value = storable(value)
        if DATE_TIME.match(value) and (not ZONE.search(value) or parse_instant(value) is None):
            raise IngestError(f"{at}: a date-time needs a zone (Z or +hh:mm) and to be valid")
    elif value is not None and (isinstance(value, list) or typed(value) is None):
        raise IngestError(
            f"{at}: values are strings, finite numbers, booleans, dates or lists of those"
        )
    return value


def document_id(collection: str, base: str) -> str:
    """The id of a document of ``collection``: ``base`` in the default collection,
    ``collection:base`` in any other, so that the same file or text in two collections
    is two documents and a write to one never replaces the other's."""
    return base if collection == DEFAULT_COLLECTION else f"{collection}:{base}"


def collection_of_id(doc_id: str) -> str:
    """The collection a document id names (see :func:`document_id`)."""
    head, colon, _ = doc_id.partition(":")
    return head if colon else DEFAULT_COLLECTION


def check_document_id(doc_id: str, collection: str) -> None:
    """Refuse a document whose id does not name its collection."""
    if not valid_collection(collection):
        raise IngestError(f"invalid collection name {show(collection)}: [a-z0-9][a-z0-9_-]{{0,62}}")
    if collection_of_id(doc_id) != collection:
        raise IngestError(f"document id {show(doc_id)} is not an id of collection {collection!r}")


def place(document, collection: str, metadata: dict | None = None):
    """``document`` put into ``collection`` (its id qualified, see :func:`document_id`),
    with a user's ``metadata`` (checked) added to what its parser found."""
    if not valid_collection(collection):
        raise IngestError(f"invalid collection name {show(collection)}: [a-z0-9][a-z0-9_-]{{0,62}}")
    extra = check_metadata(metadata) if metadata else {}
    return dataclasses.replace(
        document,
        doc_id=document_id(collection, document.doc_id),
        collection=collection,
        metadata={**document.metadata, **extra},
    )
