"""The two stages ``rag index --ray`` runs on a Ray cluster's workers, and what they send.

Ray Data calls each stage's instance once per batch of rows, in a long-lived actor: the
parse stage keeps one :class:`~rag.documents.parsing.Parser` (its bounded worker
processes start once per actor, not once per file), the embedding stage loads the model
once. Neither module imports Ray: the stages are plain callables, so that they can be
tested, and the service imported, without it.

What travels between them and back to the one writer is plain data, never pickled
objects of ours: a document as a JSON string (its fields, as both stores keep them, and
its passages' offsets, from which the writer cuts the same passages again), its vectors
as the bytes of a float32 array. JSON, because Arrow (Ray Data's block format) would
turn a batch of metadata dicts into one struct type with the union of their keys.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rag.core.embedders import PACKAGED_IDENTITY, kind_of
from rag.core.errors import IngestError
from rag.core.locations import checked, regions_within
from rag.core.settings import Settings
from rag.core.types import Chunk, Document
from rag.documents.chunking import Chunker
from rag.documents.parsing import ParseLimits, Parser
from rag.retrieval.embedders import embedder_for
from rag.service.indexing import _read_checked

#: Row fields: the file, its document (JSON, "" when none), why it failed ("" when it did
#: not), whether it is stored already (so neither embedded nor written again), and the
#: vectors (added by the embedding stage; b"" when none).
FIELDS = ("path", "doc", "error", "stored", "vectors")


class ParseFiles:
    """Files → documents and their passages' offsets, on a worker: read, parsed within
    the parse limits and chunked as :meth:`rag.service.indexing.Indexer.index_paths`
    does. A file whose document the store already holds with the same content (``stored``
    of its row: the stored content hash under the id the file gets) is only marked, so
    that a run after a crash embeds nothing twice."""

    def __init__(
        self,
        limits: ParseLimits,
        chunker: Chunker,
        collection: str,
        metadata: dict | None = None,
    ) -> None:
        self.parser = Parser(limits)
        self.chunker = chunker
        self.collection = collection
        self.metadata = metadata

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = [
            self.one(str(p), str(s)) for p, s in zip(batch["path"], batch["known"], strict=True)
        ]
        return _columns(rows, FIELDS[:4])

    def one(self, path: str, known: str) -> tuple[str, str, str, bool]:
        """(path, document JSON, error, stored?) of one file."""
        try:  # one bad file is reported, as rag index without Ray does, the others go on
            document = _read_checked(Path(path), self.parser, self.collection, self.metadata)
        except IngestError as exc:
            return path, "", str(exc), False
        if known and document.content_hash == known:
            return path, "", "", True
        try:
            chunks = self.parser.split(self.chunker, document)
        except IngestError as exc:
            return path, "", f"{path}: {exc}", False
        return path, dump_document(document, chunks), "", False


class EmbedPassages:
    """Documents → the vectors of their passages, on a worker, by the embedder that made
    the index: ``fields`` are the settings that choose it (:func:`embedder_fields`), read
    with the worker's own settings, so that the packaged model is this node's copy; it is
    refused unless it records ``identity``, the index's. The model is loaded once per
    actor, when it first has a passage to embed (a run over stored files loads none);
    torch and ONNX Runtime use the CPUs Ray gave the actor."""

    def __init__(self, fields: dict, identity: str) -> None:
        self.embedder = embedder_for(Settings(**fields), cache_size=0)
        if self.embedder.identity != identity:
            raise IngestError(
                f"this worker embeds with {self.embedder.identity}, the index holds "
                f"{identity}'s vectors: install the same model on every node"
            )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts, counts = [], []
        for doc in batch["doc"]:
            passages = passage_texts(str(doc)) if doc else []
            texts += passages
            counts.append(len(passages))
        vectors = np.zeros((len(texts), 0), dtype=np.float32)
        if texts:  # sorted by length, as the indexer does, so that batches pad little
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
            found = self.embedder.embed([texts[i] for i in order])
            vectors = np.empty_like(found)
            vectors[order] = found
        out, at = [], 0
        for count in counts:
            out.append(vectors[at : at + count].astype(np.float32).tobytes() if count else b"")
            at += count
        return {**batch, "vectors": _array(out)}


def embedder_fields(settings: Settings, identity: str, threads: int) -> dict:
    """The settings that make a worker's embedder the driver's: its kind (``identity``
    says which), its threads, and the model unless it is the packaged one (each node
    has its own copy, wherever it is installed)."""
    model, kind = kind_of(identity)
    fields: dict = {"embedder": kind or "fp32", "threads": threads}
    if model != PACKAGED_IDENTITY:
        fields["embedding_model"] = settings.embedding_model
    return fields


def dump_document(document: Document, chunks: list[Chunk]) -> str:
    """A document and its passages' offsets as one JSON string."""
    return json.dumps(
        {
            "doc_id": document.doc_id,
            "title": document.title,
            "text": document.text,
            "source": document.source,
            "content_hash": document.content_hash,
            "metadata": document.metadata,
            "collection": document.collection,
            "regions": [list(r) for r in document.regions],
            "spans": [[c.start, c.end] for c in chunks],
        },
        ensure_ascii=False,
    )


def passage_texts(doc: str) -> list[str]:
    """The passages' texts of a :func:`dump_document` string."""
    found = json.loads(doc)
    return [found["text"][s:e] for s, e in found["spans"]]


def load_document(doc: str, vectors: bytes) -> tuple[Document, list[Chunk], np.ndarray]:
    """What :meth:`rag.stores.base.DocumentStore.add_many` takes, from a row: the
    passages cut from the text at their offsets (their regions as the chunker gives
    them), one vector each."""
    found = json.loads(doc)
    text = found["text"]
    document = Document(
        doc_id=found["doc_id"],
        title=found["title"],
        text=text,
        source=found["source"],
        content_hash=found["content_hash"],
        metadata=found["metadata"],
        collection=found["collection"],
        regions=checked(found["regions"], len(text)),
    )
    chunks = [
        Chunk(document.doc_id, i, s, e, text[s:e], regions=regions_within(document.regions, s, e))
        for i, (s, e) in enumerate(found["spans"])
    ]
    matrix = np.frombuffer(vectors, dtype=np.float32)
    return document, chunks, matrix.reshape(len(chunks), -1) if chunks else matrix[:0, None]


def _array(values: list) -> np.ndarray:
    """A column of Python values (strings, bytes, booleans) as Ray Data takes one."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _columns(rows: list[tuple], names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Rows of values as a batch of columns."""
    return {name: _array([row[i] for row in rows]) for i, name in enumerate(names)}
