"""The connection to one Milvus index: the client, the index's ``meta`` records (checked
against the embedding model on open) and the queries every part of the store runs.

``uri`` is a file path (Milvus Lite, served in this process) or ``http://host:19530``
(a Milvus server or cluster).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

from rag.core.errors import StoreError
from rag.stores import lock
from rag.stores.base import check_recorded
from rag.stores.milvus import lite
from rag.stores.milvus.schema import (
    NO_VECTOR,
    SCHEMA_VERSION,
    STRONG,
    Collections,
    Layout,
    read_layout,
)

#: Values per ``in [...]`` filter.
FILTER_VALUES = 1_000


#: A backslash-u00XX escape that JSON writes for a control character (not an escaped backslash
#: followed by "u00").
_CONTROL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u00([0-9a-fA-F]{2})")


def quote(value: str) -> str:
    """A string literal of a Milvus filter expression: JSON's quoting, but non-ASCII
    characters as they are and control characters raw, since Milvus' expression parser
    refuses every backslash-u escape ("unknown escape sequence"): a question with a curly
    apostrophe made a feedback lookup, and so ``/ask``, fail on the Milvus store."""
    quoted = json.dumps(value, ensure_ascii=False)
    return _CONTROL_ESCAPE.sub(lambda m: m.group(1) + chr(int(m.group(2), 16)), quoted)


def is_in(field: str, values: list[str]) -> str:
    """A filter matching ``field`` against ``values`` (strings quoted by :func:`quote`)."""
    return f"{field} in [{', '.join(quote(v) for v in values)}]"


def slices(values: list[str], size: int = FILTER_VALUES) -> Iterator[list[str]]:
    """``values`` in runs short enough for one filter."""
    for lo in range(0, len(values), size):
        yield values[lo : lo + size]


def recorded_meta(uri: str, token: str | None, prefix: str = "rag") -> dict[str, str]:
    """The meta records of the index at ``uri`` (none: ``{}``), read without creating
    anything. The client is closed but a Milvus Lite server is left running, so that the
    store opened next reuses it instead of starting another."""
    if lite.is_lite(uri):  # a file or folder, maybe renamed aside by a rebuild cut short
        lite.recover(Path(uri))
        if not Path(uri).exists():
            return {}
    client = lite.connect(uri, token)
    try:
        name = f"{prefix}_meta"
        if not client.has_collection(name):
            return {}
        client.load_collection(name)
        rows = client.query(name, filter='key != ""', output_fields=["key", "value"], **STRONG)
        return {r["key"]: r["value"] for r in rows}
    finally:
        client.close()


class MilvusConnection:
    """The client of an index's collections (``{prefix}_…``) and what opening found: the
    dimension and the :class:`~rag.stores.milvus.schema.Layout` of its collections."""

    def __init__(self, uri: str, token: str | None, prefix: str) -> None:
        self.uri = uri
        self.token = token
        self.prefix = prefix
        #: Milvus Lite: one process serves the file, and it has no query iterators.
        self.lite = lite.is_lite(uri)
        self.dimension: int | None = None
        self.layout = Layout()
        self._client = None
        self._held: int | None = None
        self._partitions: dict[str, set[str]] = {}

    @property
    def client(self):
        if self._client is None:
            raise StoreError("the store is not open")
        return self._client

    def collection(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def open(self, model_id: str, dimension: int | None, index_type: str) -> None:
        """Connect, create what is missing, check the index was built by ``model_id``."""
        if self.lite:
            Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
            if self._held is None:
                self._held = lock.hold(lite.lock_file(self.uri))  # shared (rag.stores.lock)
            lite.recover(Path(self.uri))  # a rebuild cut short between its renames
        try:
            self._client = lite.connect(self.uri, self.token)
        except StoreError:
            self.close()
            raise
        # a restarted Milvus (Lite) holds its collections released: load ours
        for name in self._client.list_collections():
            if name.startswith(f"{self.prefix}_"):
                self._client.load_collection(name)
        collections = Collections(self._client, self.prefix, wait=not self.lite)
        self.dimension = self._check_meta(collections, model_id, dimension)
        collections.create_all(self.dimension, index_type)
        self.layout = read_layout(self._client, self.prefix, index_type)

    def close(self) -> None:
        """Closes the client; for Milvus Lite also stops this process' server of the
        file, which flushes it and frees its lock for another process."""
        lock.release(self._held)
        self._held = None
        if self._client is None:
            return
        self._client.close()
        self._client = None
        self._partitions.clear()
        if self.lite:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self.uri)

    # ------------------------------------------------------------------ meta

    def meta(self) -> dict[str, str]:
        if not self.client.has_collection(self.collection("meta")):
            return {}
        rows = self.query("meta", 'key != ""', ["key", "value"])
        return {r["key"]: r["value"] for r in rows}

    def set_meta(self, **values: str) -> None:
        self.client.upsert(
            self.collection("meta"),
            [{"key": k, "value": str(v), "none": NO_VECTOR} for k, v in values.items()],
        )

    def _check_meta(self, collections: Collections, model_id: str, dimension: int | None) -> int:
        """Record a new index's model and dimension, or check an existing one's; its
        dimension (``None`` accepts the recorded one: reading needs no model)."""
        meta = self.meta()
        if dimension is None:
            if not meta:
                raise StoreError(f"no rag index in Milvus at {self.uri}: run `rag index` first")
            dimension = int(meta["dimension"])
        if not meta:
            collections.create_meta()
            self.set_meta(
                schema_version=SCHEMA_VERSION,
                embedding_model=model_id,
                dimension=str(dimension),
                next_id="1",
                index_id=uuid.uuid4().hex,
            )
            return dimension
        check_recorded(
            meta,
            where=f"the Milvus index at {self.uri}",
            schema=SCHEMA_VERSION,
            model_id=model_id,
            dimension=dimension,
            rebuild="rebuild it",
        )
        return dimension

    # ------------------------------------------------------------------ queries

    def query(
        self, collection: str, filter: str, fields: list[str], partitions: list[str] | None = None
    ) -> list[dict]:
        return self.client.query(
            self.collection(collection),
            filter=filter,
            output_fields=fields,
            partition_names=partitions,
            **STRONG,
        )

    def scan(
        self, collection: str, filter: str, fields: list[str], partitions: list[str] | None = None
    ) -> Iterator[dict]:
        """Every matching row (of ``partitions``: None, all), in pages on a server (which
        caps one query's result); Milvus Lite answers in one (it has no iterator
        timestamps)."""
        if self.lite:
            yield from self.query(collection, filter, fields, partitions)
            return
        pages = self.client.query_iterator(
            self.collection(collection),
            batch_size=10_000,
            filter=filter,
            output_fields=fields,
            partition_names=partitions,
            **STRONG,
        )
        try:
            while rows := pages.next():
                yield from rows
        finally:
            pages.close()

    def count(self, collection: str) -> int:
        """Rows as Milvus counts them (no scan)."""
        rows = self.query(collection, "", ["count(*)"])
        return int(rows[0]["count(*)"])

    def delete(self, collection: str, filter: str) -> None:
        self.client.delete(self.collection(collection), filter=filter)

    def insert(
        self,
        collection: str,
        rows: list[dict],
        batch: int,
        partition: str | None = None,
        upsert: bool = False,
    ) -> None:
        """``rows`` in requests of ``batch`` (a gRPC message stays under its 64 MB cap),
        into ``partition`` (created where missing) or the default one; ``upsert``: each
        row replaces the row of its key, in one operation."""
        name = self.collection(collection)
        extra = {}
        if partition is not None:
            extra["partition_name"] = partition
            if partition not in self.partitions(collection):
                self._partitions.pop(collection, None)
                if not self.client.has_partition(name, partition):  # another replica's?
                    self.client.create_partition(name, partition)
        write = self.client.upsert if upsert else self.client.insert
        for lo in range(0, len(rows), batch):
            write(name, rows[lo : lo + batch], **extra)

    def partitions(self, collection: str) -> set[str]:
        """The partitions of one of the index's collections (remembered: this process
        creates them; another replica's new one is seen by :meth:`refresh_partitions`)."""
        if collection not in self._partitions:
            names = self.client.list_partitions(self.collection(collection))
            self._partitions[collection] = set(names)
        return self._partitions[collection]

    def refresh_partitions(self) -> None:
        """Forget the partitions seen (another replica may have made one)."""
        self._partitions.clear()
