"""The collections of a Milvus index: what each holds, how a new one is created, and what
an existing one, perhaps made by an older version, says about itself.

An index named ``prefix`` is four collections: ``{prefix}_meta`` (schema version, model,
dimension, pending-write marks), ``{prefix}_documents`` (one row per document, its commit
mark), ``{prefix}_texts`` (document texts in parts) and ``{prefix}_passages`` (passages
with their dense vector and BM25 terms). Milvus needs a vector field in every
collection: those that hold no vectors carry a constant two-dimensional one.

Each rag collection's passages are a partition of ``{prefix}_passages`` (:func:`partition`):
Milvus Lite keeps BM25 statistics per segment and its segments per partition, and a
Milvus server can keep them per partition, so what one collection holds does not change
another's scores. A document's collection is also what its id names
(:func:`rag.core.selection.collection_of_id`): collections made before collections
existed, without the ``collection`` fields, are read and written as they are, every one
of their documents in the default collection.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from rag.core.filters import DEFAULT_COLLECTION

SCHEMA_VERSION = "1"
#: The constant vector of the collections that hold no vectors.
NO_VECTOR = [0.0, 1.0]
#: Every request reads its own writes and every earlier acknowledged one, on any replica.
STRONG = {"consistency_level": "Strong"}
#: The fields of a document row every version has (``metadata`` came later).
DOC_FIELDS = ["doc_id", "title", "source", "content_hash", "created_at", "parts"]
#: Dense index types offered (all of them exist in Milvus Lite and in Milvus servers):
#: build parameters, and the search parameters for ``k`` hits.
DENSE_INDEXES: dict[str, tuple[dict, Callable[[int], dict]]] = {
    "HNSW": ({"M": 16, "efConstruction": 200}, lambda k: {"ef": max(64, 2 * k)}),
    "FLAT": ({}, lambda k: {}),
}


@dataclasses.dataclass
class Layout:
    """How an index's collections were made: new ones as this version makes them, older
    ones as they were (they are read and written as they are, never migrated)."""

    #: Whether Milvus assigns passage ids; before 0.9 a counter in ``meta`` did.
    auto_ids: bool = True
    #: The document fields stored; before metadata there was no ``metadata`` field.
    doc_fields: list[str] = dataclasses.field(default_factory=lambda: [*DOC_FIELDS, "metadata"])
    #: The dense index the passages have.
    index_type: str = "HNSW"
    #: Whether documents and passages have a ``collection`` field (before collections,
    #: none: a row's collection is the one its document id names).
    has_collections: bool = True
    #: Whether passages have a ``regions`` field (their locations in the file; before
    #: locations, none: such passages are cited without a location).
    has_regions: bool = True

    @property
    def has_metadata(self) -> bool:
        return "metadata" in self.doc_fields

    def search_params(self, k: int) -> dict:
        return DENSE_INDEXES[self.index_type][1](k)


def read_layout(client, prefix: str, index_type: str) -> Layout:
    """The layout of existing collections; ``index_type`` where the dense index is one
    this version does not offer."""
    passages = client.describe_collection(f"{prefix}_passages")["fields"]
    documents = client.describe_collection(f"{prefix}_documents")["fields"]
    found = client.describe_index(f"{prefix}_passages", "dense").get("index_type")
    metadata = any(f["name"] == "metadata" for f in documents)
    return Layout(
        auto_ids=any(f["name"] == "id" and f.get("auto_id") for f in passages),
        doc_fields=[*DOC_FIELDS, "metadata"] if metadata else list(DOC_FIELDS),
        index_type=found if found in DENSE_INDEXES else index_type,
        has_collections=any(f["name"] == "collection" for f in documents)
        and any(f["name"] == "collection" for f in passages),
        has_regions=any(f["name"] == "regions" for f in passages),
    )


def partition(collection: str) -> str:
    """The Milvus partition of a rag collection's passages: Milvus' own ``_default`` for
    the default collection (where an index made before collections has them all), else
    ``c_`` and the name with ``_`` and ``-`` written ``_u`` and ``_d`` (a partition name
    is letters, digits and underscores; this keeps two names apart)."""
    if collection == DEFAULT_COLLECTION:
        return "_default"
    return "c_" + collection.replace("_", "_u").replace("-", "_d")


class Collections:
    """Creates the collections of an index that are missing; ``wait``: wait for their
    indexes to be built before loading them (a Milvus server; not Milvus Lite)."""

    def __init__(self, client, prefix: str, *, wait: bool) -> None:
        self.client = client
        self.prefix = prefix
        self.wait = wait

    def create_meta(self) -> None:
        self._create(f"{self.prefix}_meta", self._plain_schema("key"))

    def create_all(self, dimension: int, index_type: str) -> None:
        """The documents, texts and passages collections, where missing."""
        from pymilvus import DataType

        short = (DataType.VARCHAR, {"max_length": 1024})
        long = (DataType.VARCHAR, {"max_length": 65_535})
        number = (DataType.INT64, {})
        self._create(
            f"{self.prefix}_documents",
            self._plain_schema(
                "doc_id",
                title=short,
                metadata=long,
                source=short,
                content_hash=(DataType.VARCHAR, {"max_length": 128}),
                created_at=(DataType.VARCHAR, {"max_length": 64}),
                characters=number,
                chunks=number,
                parts=number,
                collection=(DataType.VARCHAR, {"max_length": 64}),
            ),
            lookups=("content_hash", "collection"),
        )
        self._create(
            f"{self.prefix}_texts",
            self._plain_schema(
                "part_id", doc_id=(DataType.VARCHAR, {"max_length": 256}), ord=number, text=long
            ),
            lookups=("doc_id",),
        )
        self._create_passages(dimension, index_type)

    def _create_passages(self, dimension: int, index_type: str) -> None:
        """Passages: Milvus' own ids, the dense vector, and BM25 terms that Milvus derives
        from the analysed text."""
        from pymilvus import DataType, Function, FunctionType

        schema = self.client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True, auto_id=True)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=256)
        schema.add_field("collection", DataType.VARCHAR, max_length=64)
        schema.add_field("ord", DataType.INT64)
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_field("text", DataType.VARCHAR, max_length=65_535, enable_analyzer=True)
        schema.add_field("regions", DataType.VARCHAR, max_length=65_535)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["text"],
                output_field_names=["sparse"],
            )
        )
        index = self.client.prepare_index_params()
        index.add_index(
            "dense", index_type=index_type, metric_type="IP", params=DENSE_INDEXES[index_type][0]
        )
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        self._create(f"{self.prefix}_passages", schema, index, lookups=("doc_id",))

    def _plain_schema(self, key: str, **fields: tuple):
        """A collection without vectors: a string key, ``fields`` (name: (type, options)),
        a ``value`` beside a ``key`` (meta), and the constant vector Milvus requires."""
        from pymilvus import DataType

        schema = self.client.create_schema(auto_id=False)
        schema.add_field(key, DataType.VARCHAR, is_primary=True, max_length=256)
        for name, (kind, extra) in fields.items():
            schema.add_field(name, kind, **extra)
        if key == "key":
            schema.add_field("value", DataType.VARCHAR, max_length=1024)
        schema.add_field("none", DataType.FLOAT_VECTOR, dim=2)
        return schema

    def _create(self, name: str, schema, index=None, lookups: tuple[str, ...] = ()) -> None:
        """A collection, loaded; ``lookups``: fields filtered by value, given a scalar
        index so that finding a document's rows does not scan the collection.

        Waiting for an index polls every half second: 4 s for the eight of a new index.
        Milvus Lite builds indexes as it loads a collection, so it is not waited for."""
        if self.client.has_collection(name):
            return
        if index is None:
            index = self.client.prepare_index_params()
            index.add_index("none", index_type="FLAT", metric_type="L2")
        for field in lookups:
            index.add_index(field, index_type="INVERTED")
        self.client.create_collection(name, schema=schema, **STRONG)
        self.client.create_index(name, index, sync=self.wait)
        self.client.load_collection(name)
