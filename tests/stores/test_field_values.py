"""``field_values``, the store contract's part (run against every backend): the meta fields a
collection's documents hold, each with its first distinct values, as JSON values a filter
takes back (what the page's filter form offers)."""

from __future__ import annotations

import random

import pytest

from rag.core.filters import parse_filter
from rag.core.selection import Selection, field_rows, place
from rag.core.types import Chunk
from rag.documents.ingest import make_document
from rag.stores import open_store
from rag.stores.base import distinct_values
from tests.support.filters import random_metadata
from tests.support.stores import DIM, unit_vectors

BACKENDS = ["sqlite", pytest.param("milvus", marks=pytest.mark.milvus)]


def _put(store, text: str, collection: str, metadata: dict | None = None):
    doc = place(make_document(text), collection, metadata)
    chunk = Chunk(doc.doc_id, 0, 0, len(doc.text), doc.text)
    return store.add(doc, [chunk], unit_vectors(1))[0]


@pytest.fixture(scope="module", params=BACKENDS)
def store(request, tmp_path_factory):
    store, _ = open_store(
        tmp_path_factory.mktemp("fields"), model_id="m", dimension=DIM, backend=request.param
    )
    yield store
    store.close()


def test_a_collections_fields_and_their_values(store):
    _put(store, "Old policy\n\nSix weeks.", "legal", {"year": 2019, "team": "hr", "draft": True})
    _put(
        store,
        "New policy\n\nThree months.",
        "legal",
        {
            "year": 2024,
            "team": ["hr", "legal"],
            "signed": "2024-06-30T12:00:00+02:00",
            "score": 0.5,
            "note": None,
        },
    )
    _put(store, "Other\n\nNot legal.", "hr", {"year": 1999, "secret": "x"})
    assert store.field_values("legal", 50) == {
        "meta.draft": [True],
        "meta.score": [0.5],
        "meta.signed": ["2024-06-30T10:00:00Z"],
        "meta.team": ["hr", "legal"],
        "meta.year": [2019, 2024],
    }
    assert store.field_values("hr", 50) == {"meta.secret": ["x"], "meta.year": [1999]}
    assert store.field_values("nothing-here", 50) == {}
    assert store.field_values("legal", 1)["meta.year"] == [2019]
    # what is offered selects what it says: the date given back is the same instant
    date = parse_filter({"field": "meta.signed", "operator": "==", "value": "2024-06-30T10:00:00Z"})
    assert len(store.selected_documents(Selection(("legal",), date))) == 1


def test_a_pdfs_pages_are_not_offered(store):
    doc = place(make_document("Report\n\nPage one.\fPage two."), "reports", {"site": "x.example"})
    doc.metadata["page_starts"] = [0, 17]
    store.add(doc, [Chunk(doc.doc_id, 0, 0, len(doc.text), doc.text)], unit_vectors(1))
    assert store.field_values("reports", 50) == {"meta.site": ["x.example"]}


def test_random_metadata_gives_what_the_reference_says(store):
    rng = random.Random(5)
    stored = [_put(store, f"Doc {i}\n\nbody {i}", "mixed", random_metadata(rng)) for i in range(30)]
    for limit in (1, 3, 50):
        expected = distinct_values((row for d in stored for row in field_rows(d)), limit)
        assert store.field_values("mixed", limit) == expected
    assert "meta.year" in expected and "created_at" not in expected and "title" not in expected
