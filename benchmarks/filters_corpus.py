"""The synthetic corpus of ``python -m benchmarks filters``: documents of a few passages in a
few collections, with metadata made so that known filters select 100 %, 10 %, 1 %, 0.1 %
of the passages and one document.

Dense search costs the same whatever the vectors mean, so they are random unit vectors
(and so are the questions'); BM25's cost and exactness depend on its posting lists, so
texts are drawn from a syllable vocabulary with a Zipf-like distribution (a few very
common words, a long tail of rare ones). Every document holds :data:`PASSAGES_PER_DOC`
passages, so a share of documents is the same share of passages.

Each document ``d`` has a rank ``r`` (a seeded permutation, independent of its collection)
and metadata derived from it: ``group`` (``g0``…``g9``: 10 %), ``shelf`` (a list,
``s0``…``s9`` and ``all``: with ``group``, 1 %), ``edition`` (1…5: every document has
one), ``block`` and ``lot`` (runs of 1 % and 0.1 % of the ranks), ``published`` (one hour
apart: a window of 0.1 %), plus the random keys of
``tests/support/filters.py`` (every kind, missing, null, lists) for the random filters.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from rag.core.filters import parse_filter
from rag.core.selection import Selection, place
from rag.core.types import Chunk, Document
from rag.documents.ingest import make_document
from tests.support.filters import random_metadata

PASSAGES_PER_DOC = 4
MODEL_ID = "bench-random-384"
BATCH_DOCUMENTS = 2_500
COLLECTIONS = ("default", "hr", "legal", "news")
DIMENSION = 384
VOCABULARY = 30_000
ZIPF = 1.05
WORDS_PER_PASSAGE = (60, 140)
START = datetime(2020, 1, 1, tzinfo=UTC)
_ONSETS = "b c d f g h j k l m n p r s t v w z br dr gr kr pl st tr".split()
_VOWELS = "a e i o u ai ou".split()


@dataclass
class Corpus:
    """Documents with their passages (``PASSAGES_PER_DOC`` each, in order), one vector
    per passage (row ``n`` is passage ``n``: document ``n // PASSAGES_PER_DOC``)."""

    documents: list[Document]
    chunks: list[list[Chunk]]
    vectors: np.ndarray
    ranks: np.ndarray  #: each document's rank (its metadata derives from it)

    @property
    def passages(self) -> int:
        return len(self.vectors)

    def items(self, lo: int, hi: int) -> list[tuple[Document, list[Chunk], np.ndarray]]:
        """Documents ``lo``…``hi - 1`` as ``add_many`` takes them."""
        k = PASSAGES_PER_DOC
        return [
            (self.documents[d], self.chunks[d], self.vectors[d * k : (d + 1) * k])
            for d in range(lo, hi)
        ]


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """``size`` distinct made-up words of two to four syllables."""
    words: dict[str, None] = {}
    while len(words) < size:
        syllables = rng.randint(2, 4)
        words["".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables))] = None
    return list(words)


def unit_vectors(n: int, rng: np.random.Generator, dim: int = DIMENSION) -> np.ndarray:
    v = rng.standard_normal((n, dim), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def instant(rank: int) -> str:
    """The ``published`` date of a rank: one hour per rank from 2020-01-01."""
    return (START + timedelta(hours=int(rank))).strftime("%Y-%m-%dT%H:%M:%SZ")


def lot_size(documents: int, share: int = 1000) -> int:
    """Documents per ``lot`` (1 / ``share`` of them, at least one); ``block``: share 100."""
    return max(1, documents // share)


def metadata(rank: int, documents: int, rng: random.Random) -> dict:
    return {
        **random_metadata(rng),
        "group": f"g{rank % 10}",
        "shelf": [f"s{(rank // 10) % 10}", "all"],
        "edition": 1 + rank % 5,
        "block": rank // lot_size(documents, 100),
        "lot": rank // lot_size(documents),
        "published": instant(rank),
    }


class Texts:
    """Passage texts: Zipf-distributed words of :func:`vocabulary`."""

    def __init__(self, seed: int) -> None:
        self.words = np.array(vocabulary(VOCABULARY, random.Random(seed)), dtype=object)
        weights = 1.0 / np.arange(1, VOCABULARY + 1) ** ZIPF
        self.cum = np.cumsum(weights / weights.sum())
        self.rng = np.random.default_rng(seed)

    def draw(self, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cum, self.rng.random(n)), VOCABULARY - 1)

    def passages(self, n: int) -> list[str]:
        lengths = self.rng.integers(*WORDS_PER_PASSAGE, size=n)
        ids = self.words[self.draw(int(lengths.sum()))]
        ends = np.cumsum(lengths)
        return [" ".join(ids[e - n_words : e]) for e, n_words in zip(ends, lengths, strict=True)]

    def question(self, passage: str) -> str:
        """Six words: four of ``passage`` and two drawn from the whole vocabulary."""
        own = passage.split()
        picked = [own[int(i)] for i in self.rng.choice(len(own), 4, replace=False)]
        return " ".join(picked + list(self.words[self.draw(2)]))


def document(d: int, rank: int, documents: int, texts: list[str], rng: random.Random):
    """Document ``d`` of the corpus (in collection ``d mod 4``) and its chunks."""
    body = "\n\n".join(texts)
    base = make_document(f"Document {d}\n\n{body}", doc_id=f"d{d:06d}", clean=False)
    doc = place(base, COLLECTIONS[d % len(COLLECTIONS)], metadata(rank, documents, rng))
    chunks, pos = [], len(f"Document {d}\n\n")
    for i, text in enumerate(texts):
        chunks.append(Chunk(doc.doc_id, i, pos, pos + len(text), text))
        pos += len(text) + 2
    return doc, chunks


def build(passages: int, seed: int = 0) -> tuple[Corpus, Texts]:
    """A corpus of ``passages`` passages (rounded up to whole documents)."""
    n_docs = -(-passages // PASSAGES_PER_DOC)
    texts = Texts(seed)
    rng = random.Random(seed)
    ranks = np.random.default_rng(seed).permutation(n_docs)
    all_texts = texts.passages(n_docs * PASSAGES_PER_DOC)
    documents, chunks = [], []
    for d in range(n_docs):
        k = PASSAGES_PER_DOC
        parts = all_texts[d * k : (d + 1) * k]
        doc, parts = document(d, int(ranks[d]), n_docs, parts, rng)
        documents.append(doc)
        chunks.append(parts)
    vectors = unit_vectors(n_docs * PASSAGES_PER_DOC, np.random.default_rng(seed + 1))
    return Corpus(documents, chunks, vectors, ranks), texts


#: The selections measured: none, then filters of falling selectivity.
CASES = (
    "unfiltered",
    "100 %",
    "one collection",
    "10 %",
    "1 %",
    "1 % (AND of two 10 %)",
    "0.1 %",
    "0.1 % (date range)",
    "one document",
)


def case(name: str, q: int, corpus: Corpus) -> tuple[Selection | None, np.ndarray]:
    """Question ``q``'s selection of case ``name`` (its values vary with ``q``) and the
    documents it selects by construction (ascending indices)."""
    ranks, n = corpus.ranks, len(corpus.ranks)
    if name == "unfiltered":
        return None, np.arange(n)
    if name == "one collection":
        return Selection(("legal",)), np.flatnonzero(np.arange(n) % len(COLLECTIONS) == 2)
    if name == "100 %":
        spec, chosen = {"field": "meta.edition", "operator": ">=", "value": 1}, ranks >= 0
    elif name == "10 %":
        spec = {"field": "meta.group", "operator": "==", "value": f"g{q % 10}"}
        chosen = ranks % 10 == q % 10
    elif name == "1 %":
        block = lot_size(n, 100)
        value = (q * 7919) % (n // block)
        spec = {"field": "meta.block", "operator": "==", "value": value}
        chosen = ranks // block == value
    elif name == "1 % (AND of two 10 %)":
        group, shelf = q % 10, (q * 3 + 1) % 10
        spec = _all(
            {"field": "meta.group", "operator": "==", "value": f"g{group}"},
            {"field": "meta.shelf", "operator": "in", "value": [f"s{shelf}"]},
        )
        chosen = (ranks % 10 == group) & ((ranks // 10) % 10 == shelf)
    elif name == "0.1 %":
        lot = lot_size(n)
        value = (q * 7919) % (n // lot)
        spec = {"field": "meta.lot", "operator": "==", "value": value}
        chosen = ranks // lot == value
    elif name == "0.1 % (date range)":
        width = lot_size(n)
        first = (q * 7919) % (n - width + 1)
        spec = _all(
            {"field": "meta.published", "operator": ">=", "value": instant(first)},
            {"field": "meta.published", "operator": "<", "value": instant(first + width)},
        )
        chosen = (ranks >= first) & (ranks < first + width)
    else:
        d = (q * 7919 + 13) % n
        spec = {"field": "doc_id", "operator": "==", "value": corpus.documents[d].doc_id}
        chosen = np.arange(n) == d
    return Selection(None, parse_filter(spec)), np.flatnonzero(chosen)


def _all(*conditions: dict) -> dict:
    return {"operator": "AND", "conditions": list(conditions)}


def passages_of(documents: np.ndarray) -> np.ndarray:
    """The passage numbers of these documents, ascending."""
    k = PASSAGES_PER_DOC
    return (documents[:, None] * k + np.arange(k)).reshape(-1)


def open_bench_store(folder: Path, backend: str, ivf_threshold: int | None = None):
    from rag.stores import open_store

    store, _ = open_store(
        folder,
        model_id=MODEL_ID,
        dimension=DIMENSION,
        backend=backend,
        milvus_uri=str(folder / "milvus.db"),
        flush_seconds=1e9,
        ivf_threshold=ivf_threshold,
    )
    return store


def fill(store, corpus: Corpus) -> float:
    """Store the corpus through ``add_many`` in batches; seconds taken. The corpus' documents
    become the stored ones (with the ``created_at`` the store gave them)."""
    t0 = time.perf_counter()
    n = len(corpus.documents)
    for lo in range(0, n, BATCH_DOCUMENTS):
        stored = store.add_many(corpus.items(lo, min(n, lo + BATCH_DOCUMENTS)))
        corpus.documents[lo : lo + len(stored)] = [document for document, _ in stored]
    return round(time.perf_counter() - t0, 1)
