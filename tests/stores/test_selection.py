"""Collections and filters, the store contract's part (run against every backend): what a
selection admits is exactly what :meth:`Selection.admits` says, and searches over it are
exact (resolved before ranking, never cut from an approximate top-k)."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from rag.core.errors import IngestError
from rag.core.filters import parse_filter
from rag.core.selection import Selection
from rag.documents.ingest import make_document
from rag.stores import open_store
from tests.support.filters import random_filters, random_metadata
from tests.support.stores import DIM, add_text, unit_vectors

BACKENDS = ["sqlite", pytest.param("milvus", marks=pytest.mark.milvus)]
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda".split()


def _put(store, text: str, collection: str, metadata: dict | None = None, seed: int = 0):
    """Store ``text`` (one chunk per blank-line paragraph) in ``collection``."""
    return add_text(store, text, seed=seed, collection=collection, metadata=metadata)


@pytest.fixture(scope="module", params=BACKENDS)
def corpus(request, tmp_path_factory):
    """40 documents over three collections with varied metadata, two passages each."""
    store, _ = open_store(
        tmp_path_factory.mktemp("sel"), model_id="m", dimension=DIM, backend=request.param
    )
    rng = random.Random(1)
    documents = []
    for i in range(40):
        words = " ".join(rng.sample(WORDS, 4))
        text = f"Doc {i}\n\n{words} number{i}\n\n{rng.choice(WORDS)} tail{i}"
        collection = rng.choice(["default", "hr", "legal"])
        stored, _, _ = _put(store, text, collection, random_metadata(rng), seed=i)
        documents.append(stored)
    yield store, documents
    store.close()


def test_random_filters_select_what_the_semantics_say(corpus):
    store, documents = corpus
    for i, node in enumerate(random_filters(300, seed=7)):
        collections = [None, ("hr",), ("default", "legal")][i % 3]
        selection = Selection(collections, node)
        expected = sorted(d.doc_id for d in documents if selection.admits(d))
        assert store.selected_documents(selection) == expected, (i, node)


def test_filtered_dense_search_is_exhaustive_over_the_selection(corpus):
    store, documents = corpus
    query = unit_vectors(1, seed=99)[0]
    for node in random_filters(40, seed=3):
        selection = Selection(None, node)
        chosen = {d.doc_id for d in documents if selection.admits(d)}
        hits = store.search_dense(query, 10, selection)
        everything = store.export(batch=100)
        pairs = [
            (float(v @ query), c.id)
            for batch in everything
            for d, chunks, vectors in batch
            if d.doc_id in chosen
            for c, v in zip(chunks, vectors, strict=True)
        ]
        best = sorted(pairs, key=lambda p: (-p[0], p[1]))[:10]
        assert len(hits) == len(best)
        assert {i for i, _ in hits} == {i for _, i in best}


def test_filtered_lexical_search_keeps_to_the_selection(corpus):
    store, documents = corpus
    by_id = {d.doc_id: d for d in documents}
    node = parse_filter({"field": "meta.tags", "operator": "in", "value": ["a", "b"]})
    selection = Selection(("hr", "legal"), node)
    hits = store.search_lexical(" ".join(WORDS), 50, selection)
    chunks = store.chunks(i for i, _ in hits)
    assert hits and all(selection.admits(by_id[chunks[i][0].doc_id]) for i, _ in hits)
    selected = [d for d in documents if selection.admits(d)]
    assert len(hits) == sum(len(d.text.split("\n\n")) - 1 for d in selected)  # titles hold no word


def test_collections_are_listed_and_counted(corpus):
    store, documents = corpus
    counts = store.collections()
    for name in ("default", "hr", "legal"):
        mine = [d for d in documents if d.collection == name]
        assert counts[name] == (len(mine), 3 * len(mine))
        assert {d.doc_id for d in store.documents([name])} == {d.doc_id for d in mine}
        assert all(s.collection == name for s in store.documents([name]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_same_text_in_two_collections_is_two_documents(backend, tmp_path):
    store, _ = open_store(tmp_path, model_id="m", dimension=DIM, backend=backend)
    try:
        a, created_a, _ = _put(store, "Notice\n\nthirty days", "hr")
        b, created_b, _ = _put(store, "Notice\n\nthirty days", "legal")
        again, created_again, _ = _put(store, "Notice\n\nthirty days", "hr")
        assert created_a and created_b and not created_again
        assert a.doc_id == "hr:" + b.doc_id.split(":")[1] and a.doc_id != b.doc_id
        assert again.doc_id == a.doc_id and store.counts() == (2, 4)
        assert store.delete(a.doc_id) and store.document(b.doc_id) == b
        assert store.search_lexical("thirty days", 5, Selection(("legal",)))
        assert not store.search_lexical("thirty days", 5, Selection(("hr",)))
    finally:
        store.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_bm25_scores_are_each_collections_own(backend, tmp_path):
    store, _ = open_store(tmp_path, model_id="m", dimension=DIM, backend=backend)
    try:
        for i in range(5):
            _put(
                store, f"Contract {i}\n\nnotice period of {i + 1} months\n\nother {i}", "a", seed=i
            )
        question, only_a = "notice period months", Selection(("a",))
        before = store.search_lexical(question, 10, only_a)
        added = [
            _put(store, f"Noise {i}\n\nnotice notice period {i}", "b", seed=100 + i)[0]
            for i in range(30)
        ]
        assert store.search_lexical(question, 10, only_a) == before
        for document in added:
            store.delete(document.doc_id)
        assert store.search_lexical(question, 10, only_a) == before
    finally:
        store.close()


def test_a_document_id_must_name_its_collection(tmp_path):
    store, _ = open_store(tmp_path, model_id="m", dimension=DIM)
    try:
        unqualified = dataclasses.replace(make_document("X\n\ny"), collection="hr")
        with pytest.raises(IngestError, match="not an id of collection"):
            store.add(unqualified, [], np.zeros((0, DIM), np.float32))
    finally:
        store.close()
