"""Options several commands share: collections, metadata and filters given as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.app import fail

Collection = Annotated[str, typer.Option("--collection", help="The collection the files go into.")]
Collections = Annotated[
    list[str] | None,
    typer.Option(
        "--collection", help="A collection to answer from (repeat for several; default: all)."
    ),
]
Metadata = Annotated[
    str | None,
    typer.Option(help="Metadata for every file, as a JSON object: '{\"year\": 2024}'."),
]
Filter = Annotated[
    str | None,
    typer.Option(
        "--filter",
        help='A Haystack filter as JSON: \'{"field": "meta.year", "operator": ">=", '
        '"value": 2024}\' (docs/filters.md).',
    ),
]


def json_object(text: str | None, option: str) -> dict | None:
    """The JSON object an option holds, or one error line and exit 1."""
    if text is None:
        return None
    try:
        found = json.loads(text)
    except ValueError as exc:
        fail(f"{option}: not JSON ({exc.msg} at character {exc.pos})")
    if not isinstance(found, dict):
        fail(f"{option}: expected a JSON object")
    return found


def selection_of(collections: list[str] | None, filter_text: str | None):
    """The :class:`rag.core.selection.Selection` of ``--collection`` and ``--filter``."""
    from rag.core.filters import parse_filter, valid_collection
    from rag.core.selection import Selection

    for name in collections or []:
        if not valid_collection(name):
            fail(f"--collection: {name!r} is not a collection name ([a-z0-9][a-z0-9_-]{{0,62}})")
    node = parse_filter(json_object(filter_text, "--filter"))
    chosen = tuple(sorted(set(collections))) if collections else None
    return Selection(chosen, node) if (chosen or node) else None


def checked_placement(collection: str, metadata_text: str | None) -> dict | None:
    """``--collection`` and ``--metadata`` of an index command, checked before any file is
    read: the metadata, or one error line and exit 1."""
    from rag.core.errors import IngestError
    from rag.core.filters import valid_collection
    from rag.core.selection import check_metadata

    if not valid_collection(collection):
        fail(f"--collection: {collection!r} is not a collection name ([a-z0-9][a-z0-9_-]{{0,62}})")
    metadata = json_object(metadata_text, "--metadata")
    try:
        return check_metadata(metadata, "--metadata") if metadata else None
    except IngestError as exc:
        fail(str(exc))


WatchCollection = Annotated[
    str | None,
    typer.Option(
        "--watch-collection",
        help="The collection --watch keeps in sync with its folder (default: default).",
    ),
]
Watch = Annotated[
    Path | None,
    typer.Option(
        "--watch",
        help="Keep the index in sync with this folder (`rag sync` at start and whenever it "
        "changes), instead of indexing RAG_DOCS_DIR on first start.",
    ),
]
