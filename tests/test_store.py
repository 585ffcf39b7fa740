"""The store with a real SQLite file and a real FAISS index (small random vectors)."""

import faiss
import numpy as np
import pytest

from rag.ingest import make_document
from rag.store import (
    FAISS_NAME,
    GENERATION_NAME,
    IndexMismatchError,
    Reconciliation,
    Store,
    StoreError,
    fts_query,
    fts_words,
    read_documents,
)
from rag.types import Chunk

DIM = 8


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _add(store: Store, text: str, doc_id: str | None = None, seed: int = 0):
    doc = make_document(text, doc_id=doc_id)
    parts = [p for p in doc.text.split("\n\n")]
    chunks, pos = [], 0
    for i, part in enumerate(parts):
        start = doc.text.index(part, pos)
        chunks.append(Chunk(doc.doc_id, i, start, start + len(part), part))
        pos = start + len(part)
    vectors = _vectors(len(chunks), seed)
    stored, created = store.add(doc, chunks, vectors)
    return stored, created, vectors


def _open(path, model="m", dim=DIM) -> Store:
    store = Store(path, model_id=model, dimension=dim)
    store.open()
    return store


def test_add_search_and_persist(tmp_path):
    store = _open(tmp_path)
    doc, created, vectors = _add(store, "Title\n\nRi Yong-ho met Lavrov.\n\nMoscow is far.", "a")
    assert created and doc.doc_id == "a" and doc.created_at
    assert store.counts() == (1, 3)
    hits = store.search_dense(vectors[1], 2)
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
    ((chunk, title),) = store.chunks([hits[0][0]]).values()
    assert chunk.text == "Ri Yong-ho met Lavrov." and title == "Title"
    lexical = store.search_lexical("Who is Ri Yong-ho?", 5)
    assert [store.chunks([i])[i][0].text for i, _ in lexical] == ["Ri Yong-ho met Lavrov."]
    store.close()
    reopened = _open(tmp_path)
    assert reopened.counts() == (1, 3)
    assert reopened.search_dense(vectors[2], 1)[0][0] == hits[0][0] + 1


def test_same_content_is_stored_once(tmp_path):
    store = _open(tmp_path)
    first, created, _ = _add(store, "One\n\nTwo")
    again, created_again, _ = _add(store, "One\n\nTwo\n")
    assert created and not created_again and again.doc_id == first.doc_id
    assert store.counts() == (1, 2)


def test_new_content_under_the_same_id_replaces_the_document(tmp_path):
    store = _open(tmp_path)
    _add(store, "Old\n\nold text", "doc")
    _, created, _v = _add(store, "New\n\nnew text\n\nmore", "doc", seed=1)
    assert created
    assert store.counts() == (1, 3)
    assert store.document("doc").title == "New"
    assert not store.search_lexical("old", 5)
    assert store.vector_count() == 3


def test_delete_removes_chunks_vectors_and_lexical_entries(tmp_path):
    store = _open(tmp_path)
    _add(store, "Keep\n\nalpha", "keep")
    _, _, v = _add(store, "Drop\n\nbeta gamma", "drop", seed=2)
    assert store.delete("drop")
    assert not store.delete("drop")
    assert store.counts() == (1, 2)
    assert store.search_lexical("beta", 5) == []
    assert all(store.chunks([i]) for i, _ in store.search_dense(v[1], 10))
    assert _open(tmp_path).vector_count() == 2


def test_another_model_is_refused(tmp_path):
    _open(tmp_path).close()
    with pytest.raises(IndexMismatchError, match="built with m"):
        _open(tmp_path, model="other")
    with pytest.raises(IndexMismatchError, match="dimension"):
        _open(tmp_path, dim=16)


def test_missing_faiss_file_is_rebuilt_from_sqlite(tmp_path):
    store = _open(tmp_path)
    _, _, v = _add(store, "A\n\nb\n\nc")
    store.close()
    (tmp_path / FAISS_NAME).unlink()
    again = Store(tmp_path, model_id="m", dimension=DIM)
    report = again.open()
    assert report.rebuilt and report.added == 3
    assert again.search_dense(v[0], 1)[0][1] == pytest.approx(1.0, abs=1e-5)


def test_faiss_ahead_of_sqlite_is_repaired(tmp_path):
    """A crash after the FAISS file was written but before SQLite committed."""
    store = _open(tmp_path)
    _add(store, "A\n\nb")
    store.close()
    index = faiss.read_index(str(tmp_path / FAISS_NAME))
    index.add_with_ids(_vectors(1, 9), np.array([999], dtype=np.int64))
    faiss.write_index(index, str(tmp_path / FAISS_NAME))
    (tmp_path / GENERATION_NAME).unlink()  # the crash came before the generation was recorded
    again = Store(tmp_path, model_id="m", dimension=DIM)
    assert again.open().removed == 1
    assert again.vector_count() == 2


def test_corrupt_or_foreign_folders_are_refused(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="no rag index"):
        _open(foreign)
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "rag.sqlite3").write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="not a usable rag index"):
        _open(corrupt)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(StoreError, match="not a folder"):
        _open(a_file)


def test_read_documents_for_rebuilds(tmp_path):
    store = _open(tmp_path)
    _add(store, "A\n\nb", "a")
    store.close()
    assert [d.doc_id for d in read_documents(tmp_path)] == ["a"]
    assert read_documents(tmp_path / "none") == []


def test_fts_query_quotes_every_word_and_drops_stopwords():
    query = fts_query(fts_words('Where was "Kim" invited? OR NEAR('))
    assert query == '"kim" OR "invited" OR "near"'
    assert fts_query(fts_words("what is it")) == '"what" OR "is" OR "it"'
    assert fts_query(fts_words("?!")) == ""


def test_an_existing_index_opens_without_knowing_the_dimension(tmp_path):
    store = _open(tmp_path)
    _add(store, "A\n\nb", "a")
    store.close()
    reader = Store(tmp_path, model_id="m", dimension=None)
    reader.open()
    assert reader.dimension == DIM and [d["doc_id"] for d in reader.documents()] == ["a"]
    with pytest.raises(StoreError, match="no rag index"):
        Store(tmp_path / "empty", model_id="m", dimension=None).open()


def test_an_up_to_date_faiss_file_is_used_without_comparing(tmp_path):
    store = _open(tmp_path)
    _add(store, "A\n\nb\n\nc")
    store.close()
    assert _open(tmp_path).open() == Reconciliation()


def test_lazy_saves_lose_nothing_in_a_crash(tmp_path):
    """With saves deferred, the FAISS file lags SQLite; a crash (no close) is repaired."""
    store = Store(tmp_path, model_id="m", dimension=DIM, flush_seconds=3600)
    store.open()
    _add(store, "A\n\nb", "a")
    before = (tmp_path / FAISS_NAME).read_bytes()
    _, _, v = _add(store, "C\n\nd\n\ne", "c", seed=3)
    assert (tmp_path / FAISS_NAME).read_bytes() == before, "the save is deferred"
    crashed = Store(tmp_path, model_id="m", dimension=DIM)  # `store` is never closed
    report = crashed.open()
    assert report.added == 5 and crashed.vector_count() == 5, "both writes were deferred"
    assert crashed.search_dense(v[2], 1)[0][1] == pytest.approx(1.0, abs=1e-5)
    store.close()  # the deferred save happens on close
    assert (tmp_path / FAISS_NAME).read_bytes() != before


def test_a_large_corpus_switches_to_ivf_and_reranks_exactly(tmp_path):
    store = Store(tmp_path, model_id="m", dimension=DIM, ivf_threshold=300)
    store.open()
    vectors = _vectors(400, seed=5)
    chunks, lines = [], []
    for i in range(400):
        lines.append(f"line {i}")
    doc = make_document("Many\n\n" + "\n\n".join(lines), doc_id="many")
    pos = 0
    for i, line in enumerate(lines):
        start = doc.text.index(line + "\n", pos) if i < 399 else doc.text.rindex(line)
        chunks.append(Chunk(doc.doc_id, i, start, start + len(line), line))
        pos = start + len(line)
    store.add(doc, chunks, vectors)
    info = store.dense_info()
    assert info["kind"] == "ivf-sq8" and info["vectors"] == 400 and info["nprobe"] >= 16
    hits = store.search_dense(vectors[123], 3)
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5), "exact score after re-ranking"
    assert store.chunks([hits[0][0]])[hits[0][0]][0].text == "line 123"
    store.close()
    reopened = Store(tmp_path, model_id="m", dimension=DIM, ivf_threshold=300)
    reopened.open()
    assert reopened.dense_info()["kind"] == "ivf-sq8"
    assert reopened.delete("many") and reopened.vector_count() == 0
    assert reopened.dense_info()["kind"] == "flat", "an emptied corpus goes back to exact search"


def test_lexical_search_keeps_the_rarest_words_within_its_budget(tmp_path):
    store = Store(tmp_path, model_id="m", dimension=DIM, lexical_budget=5)
    store.open()
    for i in range(8):
        _add(store, f"Report {i}\n\nThe harbour opened in year {i}.", f"d{i}", seed=i)
    _add(store, "Odd\n\nThe harbour of Zanzibar opened.", "z", seed=9)
    # "harbour" and "open(ed)" are in 9 passages each (over the budget of 5), "zanzibar" in one
    assert store._lexical_query("When did the harbour of Zanzibar open?") == '"zanzibar"'
    hits = store.search_lexical("When did the harbours of Zanzibar open?", 3)
    assert store.chunks([hits[0][0]])[hits[0][0]][0].text == "The harbour of Zanzibar opened."
    assert store.search_lexical("unknownword", 3) == []
    assert store.search_lexical("harbour", 3) == [], "only words over the budget: none scored"


def test_counts_follow_adds_replacements_and_deletes(tmp_path):
    store = _open(tmp_path)
    _add(store, "A\n\nb\n\nc", "a")
    _add(store, "A\n\nb\n\nc")  # the same content again: not stored
    _add(store, "B\n\nx", "b")
    assert store.counts() == (2, 5)
    _add(store, "B2\n\nx\n\ny\n\nz", "b", seed=4)  # new content under the same id
    assert store.counts() == (2, 7)
    store.delete("a")
    assert store.counts() == (1, 4)
    store.db.execute("DELETE FROM meta WHERE key IN ('documents', 'chunks')")
    store.close()
    assert _open(tmp_path).counts() == (1, 4), "an older index counts its rows once"
