"""Milvus-only behaviour of collections and filters (the contract is in
``tests/stores/test_selection.py``): filtered dense search stays exact over sealed HNSW
segments, BM25 statistics stay each collection's own across Milvus Lite's flushes,
partitions, and indexes made before collections. Real Milvus Lite.

Measured with 4,000 documents of five passages (dimension 64, one sealed HNSW segment):
Milvus' own filtered HNSW search (ef 64, k 10) found 9 of the 10 exact neighbours of a
selection of 80 or 400 documents in one run, all 10 in another, hence the exact ranking
of a filtered search (:mod:`rag.stores.milvus.search`); resolving a filter took 0.9 s
for the first question after a write and 34 ms for the next ones (:mod:`.scope`).
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from rag.core.filters import parse_filter
from rag.core.selection import Selection, place
from rag.core.types import Chunk, Feedback
from rag.documents.ingest import make_document
from rag.stores.milvus import search
from rag.stores.milvus.schema import partition
from rag.stores.milvus.store import MilvusStore
from tests.support.filters import random_filters, random_metadata
from tests.support.stores import DIM, add_text, unit_vectors

pytestmark = pytest.mark.milvus
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()


def _open(path, **kwargs) -> MilvusStore:
    store = MilvusStore(str(path / "milvus.db"), model_id="m", dimension=DIM, **kwargs)
    store.open()
    return store


def _put(store, text: str, collection: str, metadata: dict | None = None, seed: int = 0):
    """``text`` (one passage per blank-line paragraph) stored in ``collection``."""
    stored, _, vectors = add_text(store, text, seed=seed, collection=collection, metadata=metadata)
    return stored, vectors


def _flush(store: MilvusStore) -> None:
    """Seal what Milvus Lite holds in memory: passages then sit in HNSW segments."""
    store.client.flush(f"{store.prefix}_passages")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """40 documents in three collections, half of them in sealed (HNSW) segments."""
    store = _open(tmp_path_factory.mktemp("milvus-sel"))
    rng = random.Random(5)
    documents, vectors = [], {}
    for i in range(40):
        text = f"Doc {i}\n\n{' '.join(rng.sample(WORDS, 3))} n{i}\n\n{rng.choice(WORDS)} t{i}"
        collection = rng.choice(["default", "hr", "legal-2"])
        stored, v = _put(store, text, collection, random_metadata(rng), seed=i)
        documents.append(stored)
        for chunk, vector in zip(store.document_chunks(stored.doc_id), v, strict=True):
            vectors[chunk.id] = (stored, vector)
        if i == 19:
            _flush(store)
    yield store, documents, vectors
    store.close()


def _exact(vectors, selection, query, k):
    scored = [(float(v @ query), i) for i, (d, v) in vectors.items() if selection.admits(d)]
    return [i for _, i in sorted(scored, key=lambda p: (-p[0], p[1]))[:k]]


def test_filtered_dense_search_equals_brute_force_over_sealed_segments(corpus):
    store, _, vectors = corpus
    query = unit_vectors(1, seed=77)[0]
    selections = [Selection(("hr",)), Selection(("default", "legal-2"))]
    selections += [Selection(None, node) for node in random_filters(60, seed=11)]
    for selection in selections:
        hits = store.search_dense(query, 8, selection)
        assert [i for i, _ in hits] == _exact(vectors, selection, query, 8), selection
        assert all(s == pytest.approx(float(vectors[i][1] @ query), abs=1e-5) for i, s in hits)


def test_a_large_selection_is_searched_by_milvus_and_still_complete(corpus, monkeypatch):
    """Past ``EXACT_PASSAGES`` Milvus ranks (with a wider ef); what it returns is whole."""
    store, _, vectors = corpus
    monkeypatch.setattr(search, "EXACT_PASSAGES", 0)
    query = unit_vectors(1, seed=78)[0]
    for node in random_filters(20, seed=12):
        selection = Selection(None, node)
        hits = [i for i, _ in store.search_dense(query, 6, selection)]
        assert hits == _exact(vectors, selection, query, 6)


def test_filtered_lexical_search_returns_every_selected_match(corpus):
    store, _, vectors = corpus
    texts = {i: chunk.text for i, (chunk, _) in store.chunks(vectors).items()}
    matching = [i for i, text in texts.items() if {"alpha", "gamma"} & set(text.split())]
    for node in random_filters(40, seed=13):
        selection = Selection(("hr", "legal-2"), node)
        hits = store.search_lexical("alpha gamma", 100, selection)
        expected = [i for i in matching if selection.admits(vectors[i][0])]
        assert sorted(i for i, _ in hits) == sorted(expected)
        few = store.search_lexical("alpha gamma", 3, selection)
        assert few == hits[:3] and len(few) == min(3, len(expected))


def test_bm25_statistics_stay_a_collections_own_across_flushes(tmp_path):
    store = _open(tmp_path)
    for i in range(6):
        _put(store, f"Policy {i}\n\nleave notice of {i} weeks\n\nother {i}", "a", seed=i)
    only_a = Selection(("a",))
    question = "leave notice weeks"
    before = store.search_lexical(question, 10, only_a)
    unselected = dict(store.search_lexical(question, 10))
    assert all(unselected[i] == score for i, score in before)  # the same statistics
    noise = [
        _put(store, f"Noise {i}\n\nnotice notice leave {i}", "b", seed=50 + i)[0] for i in range(40)
    ]
    assert store.search_lexical(question, 10, only_a) == before
    _flush(store)  # a's passages leave memory for a segment of their own partition
    assert store.search_lexical(question, 10, only_a) == before
    for document in noise[:30]:
        store.delete(document.doc_id)
    _flush(store)
    assert store.search_lexical(question, 10, only_a) == before
    assert store.collections() == {"a": (6, 18), "b": (10, 20)}
    store.close()


def test_partition_names_keep_collections_apart():
    names = ["default", "a", "a_u", "a-", "a_d", "a__", "a--", "0-x_y"]
    parts = [partition(name) for name in names]
    assert len(set(parts)) == len(names) and parts[0] == "_default"
    assert all(p[0] in "_c" and p.replace("_", "").isalnum() for p in parts)


def _open_as_before_collections(path, monkeypatch) -> MilvusStore:
    """A store whose collections are made as before collections: no ``collection``
    fields on documents and passages."""
    from pymilvus import CollectionSchema
    from pymilvus.milvus_client.index import IndexParams

    add_field, add_index = CollectionSchema.add_field, IndexParams.add_index

    def old_field(schema, name, kind, **extra):
        return schema if name == "collection" else add_field(schema, name, kind, **extra)

    def old_index(index, name, *args, **extra):
        return None if name == "collection" else add_index(index, name, *args, **extra)

    with monkeypatch.context() as patch:
        patch.setattr(CollectionSchema, "add_field", old_field)
        patch.setattr(IndexParams, "add_index", old_index)
        return _open(path)


def test_an_index_from_before_collections_keeps_working(tmp_path, monkeypatch):
    old = _open_as_before_collections(tmp_path, monkeypatch)
    first, _ = _put(old, "Old\n\nalpha beta", "default", {"year": 2020})
    old.close()

    store = _open(tmp_path)  # read and written as it is: no migration
    assert not store._connection.layout.has_collections
    assert store.document(first.doc_id) == first and first.collection == "default"
    copy, created = store.add(
        place(make_document("Old\n\nalpha beta"), "hr"),
        [Chunk("hr:" + first.doc_id, 0, 5, 15, "alpha beta")],
        unit_vectors(1, seed=3),
    )
    assert created and copy.doc_id == "hr:" + first.doc_id  # dedup is per collection
    assert store.collections() == {"default": (1, 2), "hr": (1, 1)}
    assert [d.collection for d in store.documents(["hr"])] == ["hr"]
    year = parse_filter({"field": "meta.year", "operator": "==", "value": 2020})
    assert store.selected_documents(Selection(None, year)) == [first.doc_id]
    hr_hits = store.search_lexical("alpha", 5, Selection(("hr",)))
    assert [store.chunks([i])[i][0].doc_id for i, _ in hr_hits] == [copy.doc_id]
    assert len(store.search_dense(unit_vectors(1)[0], 5, Selection(("default",)))) == 2
    store.close()


def test_feedback_is_listed_by_collection(tmp_path):
    store = _open(tmp_path)
    _put(store, "Talks\n\nRi met Lavrov.", "hr")

    def verdict(n: int, collection: str) -> Feedback:
        return Feedback(
            question="who?",
            resolved_question="who?",
            answer=None,
            verdict="unanswerable",
            key="who",
            created_at=f"2026-12-06T00:00:0{n}+00:00",
            id=f"f{n}",
            collection=collection,
        )

    for n, collection in enumerate(["hr", "default", "legal"]):
        store.add_feedback(verdict(n, collection))
    assert [f.id for f in store.feedback(collections=["hr", "legal"])] == ["f0", "f2"]
    assert [f.collection for f in store.feedback("who", ["default"])] == ["default"]
    assert len(store.feedback()) == 3 and store.feedback(collections=[]) == []
    store.close()


def test_an_empty_selection_finds_nothing(corpus):
    store, _, _ = corpus
    nothing = Selection(("nobody",))
    assert store.search_dense(np.ones(DIM, np.float32), 5, nothing) == []
    assert store.search_lexical("alpha", 5, nothing) == []
    assert store.selected_documents(nothing) == []
    assert store.documents(["nobody"]) == [] and store.documents([]) == []
