"""The document store contract, run against every implementation (real files, small vectors).

Backend-specific behaviour (the FAISS file's repairs, FTS5 query planning) is tested
beside each implementation, e.g. ``tests/stores/test_sqlite_store.py``.
"""

from __future__ import annotations

import dataclasses

import pytest

from rag.core.types import Feedback
from rag.stores import DocumentStore, IndexMismatchError, StoreError, open_store
from tests.support.stores import DIM, add_text, item, text_of

BACKENDS = ["sqlite", pytest.param("milvus", marks=pytest.mark.milvus)]


@pytest.fixture(params=BACKENDS)
def open_index(request, tmp_path):
    """Opens the store of a folder (default: tmp_path) with the backend under test."""
    opened = []

    def make(path=tmp_path, model="m", dim=DIM):
        store, _ = open_store(path, model_id=model, dimension=dim, backend=request.param)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def test_every_backend_implements_the_protocol(open_index):
    assert isinstance(open_index(), DocumentStore)


def test_add_search_and_persist(open_index, tmp_path):
    store = open_index()
    text = "Title\n\nRi Yong-ho met Lavrov.\n\nMoscow is far."
    doc, created, vectors = add_text(store, text, "a")
    assert created and doc.doc_id == "a" and doc.created_at
    assert store.counts() == (1, 3) and store.vector_count() == 3
    hits = store.search_dense(vectors[1], 2)
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
    ((chunk, title),) = store.chunks([hits[0][0]]).values()
    assert chunk.text == "Ri Yong-ho met Lavrov." and title == "Title"
    assert chunk.doc_id == "a" and doc.text[chunk.start : chunk.end] == chunk.text
    lexical = store.search_lexical("Who is Ri Yong-ho?", 5)
    assert [text_of(store, i) for i, _ in lexical] == ["Ri Yong-ho met Lavrov."]
    assert all(score > 0 for _, score in lexical)
    store.close()
    reopened = open_index()
    assert reopened.counts() == (1, 3)
    assert reopened.document("a") == doc
    assert text_of(reopened, reopened.search_dense(vectors[2], 1)[0][0]) == "Moscow is far."


def test_a_document_keeps_the_time_it_comes_with_else_is_stamped(open_index):
    """A copy (`rag migrate`) or a rebuild keeps when each document was first indexed
    (listings are in that order); a new document gets the time it is stored."""
    store = open_index()
    doc, chunks, vectors = item("Old\n\nold text", "old")
    then = "2020-01-02T03:04:05+00:00"
    stored, created = store.add(dataclasses.replace(doc, created_at=then), chunks, vectors)
    assert created and stored.created_at == then and store.document("old").created_at == then
    fresh, _, _ = add_text(store, "New\n\nnew text", "new", seed=1)
    assert fresh.created_at > then and store.document("new").created_at == fresh.created_at
    assert [d.doc_id for d in store.documents()] == ["old", "new"]


def test_same_content_is_stored_once(open_index):
    store = open_index()
    first, created, _ = add_text(store, "One\n\nTwo")
    again, created_again, _ = add_text(store, "One\n\nTwo\n")
    assert created and not created_again and again.doc_id == first.doc_id
    assert store.counts() == (1, 2)


def test_new_content_under_the_same_id_replaces_the_document(open_index):
    store = open_index()
    add_text(store, "Old\n\nold text", "doc")
    _, created, _v = add_text(store, "New\n\nnew text\n\nmore", "doc", seed=1)
    assert created
    assert store.counts() == (1, 3)
    assert store.document("doc").title == "New"
    assert not store.search_lexical("old", 5)
    assert store.vector_count() == 3


def test_delete_removes_chunks_vectors_and_lexical_entries(open_index):
    store = open_index()
    add_text(store, "Keep\n\nalpha", "keep")
    _, _, v = add_text(store, "Drop\n\nbeta gamma", "drop", seed=2)
    assert store.delete("drop")
    assert not store.delete("drop")
    assert store.document("drop") is None
    assert store.counts() == (1, 2)
    assert store.search_lexical("beta", 5) == []
    assert all(store.chunks([i]) for i, _ in store.search_dense(v[1], 10))
    store.close()
    assert open_index().vector_count() == 2


def test_documents_are_listed_oldest_first_without_their_text(open_index):
    store = open_index()
    add_text(store, "First\n\nalpha beta", "one")
    add_text(store, "Second\n\ngamma", "two", seed=1)
    listing = store.documents()
    assert [(d.doc_id, d.title, d.chunks) for d in listing] == [
        ("one", "First", 2),
        ("two", "Second", 2),
    ]
    assert listing[0].characters == len(store.document("one").text)


def test_unknown_chunk_ids_are_left_out(open_index):
    store = open_index()
    add_text(store, "A\n\nb", "a")
    assert store.chunks([10_000]) == {} and store.chunks([]) == {}


def test_another_model_is_refused(open_index, tmp_path):
    open_index().close()
    with pytest.raises(IndexMismatchError, match="built with m"):
        open_index(model="other")
    with pytest.raises(IndexMismatchError, match="dimension"):
        open_index(dim=16)


def test_an_existing_index_opens_without_knowing_the_dimension(open_index, tmp_path):
    store = open_index()
    add_text(store, "A\n\nb", "a")
    store.close()
    reader = open_index(dim=None)
    assert [d.doc_id for d in reader.documents()] == ["a"]
    with pytest.raises(StoreError, match="no rag index"):
        open_index(tmp_path / "empty", dim=None)


def test_counts_follow_adds_replacements_and_deletes(open_index):
    store = open_index()
    add_text(store, "A\n\nb\n\nc", "a")
    add_text(store, "A\n\nb\n\nc")  # the same content again: not stored
    add_text(store, "B\n\nx", "b")
    assert store.counts() == (2, 5)
    add_text(store, "B2\n\nx\n\ny\n\nz", "b", seed=4)  # new content under the same id
    assert store.counts() == (2, 7)
    store.delete("a")
    assert store.counts() == (1, 4)
    store.close()
    assert open_index().counts() == (1, 4)


def test_a_batch_is_stored_whole_or_not_at_all(open_index):
    store = open_index()
    add_text(store, "Keep\n\nalpha", "keep")
    from rag.core.types import Chunk
    from rag.documents.ingest import make_document
    from tests.support.stores import unit_vectors

    good = make_document("Good\n\nfine", doc_id="good")
    bad = make_document("Bad\n\nbroken", doc_id="bad")
    chunk = Chunk("good", 0, 6, 10, "fine")
    with pytest.raises(ValueError, match="one vector per chunk"):
        store.add_many([(good, [chunk], unit_vectors(1)), (bad, [], unit_vectors(2))])
    assert store.counts() == (1, 2) and store.document("good") is None


def test_export_gives_what_another_store_takes(open_index, tmp_path):
    from rag.stores.sqlite.store import SQLiteStore

    store = open_index()
    _, _, v = add_text(store, "First\n\nalpha beta\n\ngamma", "one")
    add_text(store, "Second\n\ndelta", "two", seed=1)
    batches = list(store.export(batch=1))
    assert [[d.doc_id for d, _, _ in b] for b in batches] == [["one"], ["two"]]
    document, chunks, vectors = batches[0][0]
    assert [c.text for c in chunks] == ["First", "alpha beta", "gamma"]
    assert all(document.text[c.start : c.end] == c.text for c in chunks)
    assert vectors.shape == (3, DIM) and abs(float(vectors[1] @ v[1]) - 1) < 1e-5
    other = SQLiteStore(tmp_path / "other", model_id="m", dimension=DIM)
    other.open()
    for items in batches:
        other.add_many(items)
    assert other.counts() == store.counts()
    assert text_of(other, other.search_dense(v[1], 1)[0][0]) == "alpha beta"
    other.close()


def test_passages_keep_their_locations(open_index, tmp_path):
    """Each passage comes back with the regions it overlaps, from a search and from an
    export alike; a document stored without regions has none."""
    store = open_index()
    text = "Deck\n\nFirst slide text\n\nSecond slide text"
    regions = ((0, {"slide": 1}), (text.index("Second"), {"slide": 2}))
    _, _, vectors = add_text(store, text, "deck", regions=regions)
    add_text(store, "Plain\n\nno structure", "plain", seed=3)
    hit = store.search_dense(vectors[2], 1)[0][0]
    chunk, _ = store.chunks([hit])[hit]
    assert chunk.text == "Second slide text" and chunk.regions == (regions[1],)
    first = store.chunks([store.search_dense(vectors[0], 1)[0][0]])
    assert [c.regions for c, _ in first.values()] == [(regions[0],)]
    exported = {d.doc_id: chunks for b in store.export(batch=5) for d, chunks, _ in b}
    assert [c.regions for c in exported["deck"]] == [(regions[0],), (regions[0],), (regions[1],)]
    assert all(not c.regions for c in exported["plain"])


def test_stored_vectors_are_found_by_their_text_in_their_collection(open_index):
    """What lets a changed or renamed file keep its passages' vectors (rag sync)."""
    store = open_index()
    prefix = "A long shared opening of more than sixty-four characters, word after word, "
    text = f"Title\n\n{prefix}then one end.\n\n{prefix}then another."
    _, _, vectors = add_text(store, text, "a")
    add_text(store, "Other\n\nGamma passage.", "b", collection="hr", seed=3)
    asked = [f"{prefix}then another.", f"{prefix}then one end.", "Gamma passage.", "Missing."]
    found = store.vectors_for_texts("default", asked)
    assert sorted(found) == sorted(asked[:2])
    assert float(found[asked[0]] @ vectors[2]) == pytest.approx(1.0, abs=1e-5)
    assert float(found[asked[1]] @ vectors[1]) == pytest.approx(1.0, abs=1e-5)
    assert list(store.vectors_for_texts("hr", asked)) == ["Gamma passage."]
    assert store.vectors_for_texts("default", []) == {}
    store.delete("a")
    assert store.vectors_for_texts("default", asked) == {}


def test_a_write_moves_rewrites_and_removes_documents(open_index):
    """``remove``: a rename (the same content under a new id, the old id gone), a
    rewrite of unchanged content, a swap, and plain removals, each in one write."""
    store = open_index()
    add_text(store, "Moved\n\nalpha", "old")
    add_text(store, "Gone\n\nbeta", "gone", seed=1)
    add_text(store, "Kept\n\ngamma", "kept", seed=2)
    gone = _feedback("what is beta", "corrected", "gone", 1, start=0, end=4, text="Gone")
    store.add_feedback(gone)
    kept = _feedback("what is gamma", "corrected", "kept", 2, start=0, end=4, text="Kept")
    store.add_feedback(kept)
    moved = _feedback("what is alpha", "right", "old", 3, start=7, end=12, text="alpha")
    store.add_feedback(moved)
    assert store.add_many([item("Moved\n\nalpha", "new")])[0][0].doc_id == "old"  # dedup
    results = store.add_many([item("Moved\n\nalpha", "new")], remove=["old", "gone", "none"])
    assert [(d.doc_id, created) for d, created in results] == [("new", True)]
    assert store.document("old") is None and store.document("gone") is None
    assert [text_of(store, i) for i, _ in store.search_lexical("alpha", 5)] == ["alpha"]
    assert store.search_lexical("beta", 5) == []
    # the removed document's feedback went with it; the renamed one's followed its content
    followed = dataclasses.replace(moved, doc_id="new")
    assert store.feedback() == [kept, followed]
    ((rewritten, created),) = store.add_many([item("Kept\n\ngamma", "kept", seed=2)], ["kept"])
    assert created and rewritten.doc_id == "kept" and store.feedback() == [kept, followed]
    store.add_many([item("X\n\nfirst", "x"), item("Y\n\nsecond", "y", seed=5)])
    store.add_many([item("Y\n\nsecond", "x", seed=5), item("X\n\nfirst", "y")], ["x", "y"])
    assert store.document("x").title == "Y" and store.document("y").title == "X"
    assert store.counts() == (4, 8) and store.vector_count() == 8
    assert store.add_many([], remove=["x", "y"]) == []
    assert sorted(d.doc_id for d in store.documents()) == ["kept", "new"]
    store.close()
    assert open_index().counts() == (2, 4)


def _feedback(key: str, verdict: str, doc_id: str | None, n: int, **span) -> Feedback:
    return Feedback(
        question=f"{key}?",
        resolved_question=f"{key}?",
        answer="Lavrov" if verdict != "unanswerable" else None,
        verdict=verdict,
        doc_id=doc_id,
        key=key,
        created_at=f"2026-12-06T00:00:0{n}.000000+00:00",
        id=f"f{n}",
        **span,
    )


def test_feedback_is_kept_listed_by_question_and_dropped_with_its_document(open_index):
    store = open_index()
    doc, _, _ = add_text(store, "Talks\n\nRi Yong-ho met Lavrov.", "a")
    add_text(store, "Other\n\ngamma", "b", seed=1)
    span = {"start": doc.text.index("Lavrov"), "end": doc.text.index("Lavrov") + 6}
    right = _feedback("who met ri", "right", "a", 1, text="Lavrov", **span)
    none = _feedback("who met ri", "unanswerable", None, 2)
    other = _feedback("what is gamma", "corrected", "b", 3, start=0, end=5, text="Other")
    for f in (other, right, none):
        store.add_feedback(f)
    assert store.feedback() == [right, none, other]  # oldest first, whole
    assert store.feedback("who met ri") == [right, none]
    assert store.feedback("nobody asked") == []
    chunks = store.document_chunks("a")
    assert [c.text for c in chunks] == ["Talks", "Ri Yong-ho met Lavrov."]
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)
    add_text(store, "Talks\n\nRi Yong-ho met Lavrov again.", "a", seed=2)  # replaced: kept
    assert store.feedback("who met ri") == [right, none]
    assert store.delete("a")
    assert store.feedback() == [none, other]
    assert store.document_chunks("a") == []
    store.close()
    assert open_index().feedback() == [none, other]


def test_feedback_keys_of_any_characters_are_found(open_index):
    """A question key is looked up exactly whatever it holds: Milvus' filter parser
    refused the \\u escapes of "russia’s" (a 500 on every such /ask, issue 37)."""
    store = open_index()
    keys = ["russia’s minister", 'a "quoted" \\u0041 key', "ctl\x01\x1f end", "emoji 😀"]
    for n, key in enumerate(keys):
        store.add_feedback(_feedback(key, "unanswerable", None, n))
    for key in keys:
        assert [f.key for f in store.feedback(key)] == [key]


def test_documents_at_the_bounds_are_kept_whole_and_past_them_refused(open_index):
    """Both stores accept the same documents (issue 32: a PDF's metadata over 65,535
    characters was stored by SQLite and a 500 on Milvus): at every bound of
    rag.core.bounds, in 4-byte characters, a document comes back as it went in; past
    one it is refused, by both, and nothing is stored."""
    import dataclasses

    from rag.core import bounds
    from rag.core.errors import IngestError
    from rag.core.types import Chunk
    from rag.documents.ingest import make_document
    from tests.support.stores import unit_vectors

    store = open_index()
    passage = "😀" * bounds.MAX_PASSAGE_CHARS
    starts = list(range(0, 7_000 * 1_000, 1_000))  # some 7,000 pages' offsets
    padding = bounds.MAX_METADATA_BYTES - len(
        bounds.metadata_json({"page_starts": starts, "x": ""})
    )
    metadata = {"page_starts": starts, "x": "é" * (padding // 2)}
    document = dataclasses.replace(
        make_document(passage, doc_id="edge"),
        title="😀" * bounds.MAX_TITLE_CHARS,
        source="é" * bounds.MAX_SOURCE_CHARS,
        metadata=metadata,
    )
    chunks = [Chunk("edge", 0, 0, len(passage), passage)]
    stored, created = store.add(document, chunks, unit_vectors(1))
    assert created and store.document("edge") == stored
    assert stored.metadata == metadata and stored.title == document.title
    assert text_of(store, store.search_dense(unit_vectors(1)[0], 1)[0][0]) == passage
    past = {"metadata": {**metadata, "x": "é" * (padding // 2 + 1)}}, {"title": "t" * 257}
    for change in past:
        over = dataclasses.replace(document, doc_id="over", content_hash="0" * 64, **change)
        with pytest.raises(IngestError, match="at most"):
            store.add(over, [dataclasses.replace(chunks[0], doc_id="over")], unit_vectors(1))
    long = dataclasses.replace(chunks[0], doc_id="over", text=passage + "x")
    with pytest.raises(IngestError, match="passage 0 of over"):
        store.add(dataclasses.replace(document, doc_id="over"), [long], unit_vectors(1))
    assert store.counts() == (1, 1) and store.document("over") is None
