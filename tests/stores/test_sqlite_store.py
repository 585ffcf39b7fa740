"""What only the SQLite + FTS5 + FAISS store does: repairs of its FAISS file, lazy saves,
IVF past a threshold, FTS5 query planning, and refusing foreign folders."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from rag.core.errors import StorageFullError, StoreDamagedError, StoreError
from rag.core.text import content_words
from rag.core.types import Chunk, Reconciliation
from rag.documents.ingest import make_document
from rag.stores.sqlite.db import translated
from rag.stores.sqlite.files import read_documents
from rag.stores.sqlite.fts import fts_query
from rag.stores.sqlite.store import SQLiteStore
from rag.stores.sqlite.vector_file import FAISS_NAME, GENERATION_NAME
from tests.support.stores import DIM, add_text, text_of, unit_vectors


def _open(path, model="m", dim=DIM, **kwargs) -> SQLiteStore:
    store = SQLiteStore(path, model_id=model, dimension=dim, **kwargs)
    store.open()
    return store


def test_missing_faiss_file_is_rebuilt_from_sqlite(tmp_path):
    store = _open(tmp_path)
    _, _, v = add_text(store, "A\n\nb\n\nc")
    store.close()
    (tmp_path / FAISS_NAME).unlink()
    again = SQLiteStore(tmp_path, model_id="m", dimension=DIM)
    report = again.open()
    assert report.rebuilt and report.added == 3
    assert again.search_dense(v[0], 1)[0][1] == pytest.approx(1.0, abs=1e-5)


def test_faiss_ahead_of_sqlite_is_repaired(tmp_path):
    """A crash after the FAISS file was written but before SQLite committed."""
    store = _open(tmp_path)
    add_text(store, "A\n\nb")
    store.close()
    index = faiss.read_index(str(tmp_path / FAISS_NAME))
    index.add_with_ids(unit_vectors(1, 9), np.array([999], dtype=np.int64))
    faiss.write_index(index, str(tmp_path / FAISS_NAME))
    (tmp_path / GENERATION_NAME).unlink()  # the crash came before the generation was recorded
    again = SQLiteStore(tmp_path, model_id="m", dimension=DIM)
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


def test_a_folder_holding_the_index_s_other_files_takes_a_new_index_and_no_foreign_one(
    tmp_path,
):
    """`rag migrate sqlite` back into a Milvus Lite index's folder: its Milvus files, lock,
    keys, jobs and manifest are the index's own (it was refused for the jobs and the
    manifest any served or synced index has); a file of someone else's still refuses."""
    for name in ("milvus.db", "jobs"):
        (tmp_path / name).mkdir()
    for name in ("milvus.db.lock", "keys.sqlite3", "jobs.sqlite3", "sync.sqlite3-wal"):
        (tmp_path / name).write_bytes(b"")
    _open(tmp_path).close()
    other = tmp_path / "other"
    other.mkdir()
    (other / "jobs.sqlite3").write_bytes(b"")
    (other / "thesis.txt").write_text("mine")
    with pytest.raises(StoreError, match=r"holds other files \(thesis.txt\)"):
        _open(other)


def test_read_documents_for_rebuilds(tmp_path):
    store = _open(tmp_path)
    add_text(store, "A\n\nb", "a")
    regions = ((0, {"sheet": "One", "row": 1}), (7, {"sheet": "Two", "row": 1}))
    add_text(store, "Sheets\n\nfirst\n\nsecond", "book", seed=1, regions=regions)
    store.close()
    batches = list(read_documents(tmp_path, batch=1))
    assert [[d.doc_id for d in batch] for batch in batches] == [["a"], ["book"]], "in batches"
    documents = {batch[0].doc_id: batch[0] for batch in batches}
    assert documents["book"].regions == regions, "a rebuild cuts passages with their regions"
    assert documents["a"].regions == ()
    assert list(read_documents(tmp_path / "none")) == []


def test_fts_query_quotes_every_word_and_drops_stopwords():
    query = fts_query(content_words('Where was "Kim" invited? OR NEAR('))
    assert query == '"kim" OR "invited" OR "near"'
    assert fts_query(content_words("what is it")) == '"what" OR "is" OR "it"'
    assert fts_query(content_words("?!")) == ""


def test_an_up_to_date_faiss_file_is_used_without_comparing(tmp_path):
    store = _open(tmp_path)
    add_text(store, "A\n\nb\n\nc")
    store.close()
    assert SQLiteStore(tmp_path, model_id="m", dimension=DIM).open() == Reconciliation()


def test_lazy_saves_lose_nothing_in_a_crash(tmp_path):
    """With saves deferred, the FAISS file lags SQLite; a crash (no close) is repaired."""
    store = _open(tmp_path, flush_seconds=3600)
    add_text(store, "A\n\nb", "a")
    before = (tmp_path / FAISS_NAME).read_bytes()
    _, _, v = add_text(store, "C\n\nd\n\ne", "c", seed=3)
    assert (tmp_path / FAISS_NAME).read_bytes() == before, "the save is deferred"
    crashed = SQLiteStore(tmp_path, model_id="m", dimension=DIM)  # `store` is never closed
    report = crashed.open()
    assert report.added == 5 and crashed.vector_count() == 5, "both writes were deferred"
    assert crashed.search_dense(v[2], 1)[0][1] == pytest.approx(1.0, abs=1e-5)
    store.close()  # the deferred save happens on close
    assert (tmp_path / FAISS_NAME).read_bytes() != before


def test_a_large_corpus_switches_to_ivf_and_reranks_exactly(tmp_path):
    store = _open(tmp_path, ivf_threshold=300)
    vectors = unit_vectors(400, seed=5)
    lines = [f"line {i}" for i in range(400)]
    doc = make_document("Many\n\n" + "\n\n".join(lines), doc_id="many")
    chunks, pos = [], 0
    for i, line in enumerate(lines):
        start = doc.text.index(line + "\n", pos) if i < 399 else doc.text.rindex(line)
        chunks.append(Chunk(doc.doc_id, i, start, start + len(line), line))
        pos = start + len(line)
    store.add(doc, chunks, vectors)
    info = store.dense_info()
    assert info["kind"] == "ivf-sq8" and info["vectors"] == 400 and info["nprobe"] >= 16
    hits = store.search_dense(vectors[123], 3)
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5), "exact score after re-ranking"
    assert text_of(store, hits[0][0]) == "line 123"
    store.close()
    reopened = _open(tmp_path, ivf_threshold=300)
    assert reopened.dense_info()["kind"] == "ivf-sq8"
    assert reopened.delete("many") and reopened.vector_count() == 0
    assert reopened.dense_info()["kind"] == "flat", "an emptied corpus goes back to exact search"


def test_lexical_search_keeps_the_rarest_words_within_its_budget(tmp_path):
    store = _open(tmp_path, lexical_budget=5)
    for i in range(8):
        add_text(store, f"Report {i}\n\nThe harbour opened in year {i}.", f"d{i}", seed=i)
    add_text(store, "Odd\n\nThe harbour of Zanzibar opened.", "z", seed=9)
    # "harbour" and "open(ed)" are in 9 passages each (over the budget of 5), "zanzibar" in one
    assert store._lexical.query("When did the harbour of Zanzibar open?") == '"zanzibar"'
    hits = store.search_lexical("When did the harbours of Zanzibar open?", 3)
    assert text_of(store, hits[0][0]) == "The harbour of Zanzibar opened."
    assert store.search_lexical("unknownword", 3) == []
    assert store.search_lexical("harbour", 3) == [], "only words over the budget: none scored"


def test_an_index_from_before_the_counts_counts_its_rows_once(tmp_path):
    store = _open(tmp_path)
    add_text(store, "A\n\nb\n\nc", "a")
    store.db.execute("DELETE FROM meta WHERE key IN ('documents', 'chunks')")
    store.close()
    assert _open(tmp_path).counts() == (1, 3)


def test_a_database_older_than_its_vector_file_is_refused(tmp_path):
    """A deleted -wal file or an old copy put back: committed writes are gone."""
    import shutil

    store = _open(tmp_path)
    add_text(store, "A\n\nb", "a")
    store.close()
    shutil.copy(tmp_path / "rag.sqlite3", tmp_path / "old.sqlite3")
    store = _open(tmp_path)
    add_text(store, "C\n\nd", "c", seed=1)
    store.close()
    shutil.move(tmp_path / "old.sqlite3", tmp_path / "rag.sqlite3")
    with pytest.raises(StoreDamagedError, match="older than its vector file"):
        _open(tmp_path)


def test_a_vector_file_of_another_index_is_not_trusted(tmp_path):
    import shutil

    one, other = tmp_path / "one", tmp_path / "other"
    store = _open(one)
    _, _, v = add_text(store, "A\n\nb", "a")
    store.close()
    store = _open(other)
    add_text(store, "X\n\ny", "x", seed=7)  # the same generation, other vectors
    store.close()
    for name in (FAISS_NAME, GENERATION_NAME):
        shutil.copy(other / name, one / name)
    again = SQLiteStore(one, model_id="m", dimension=DIM)
    assert again.open().rebuilt
    assert again.search_dense(v[1], 1)[0][1] == pytest.approx(1.0, abs=1e-5)


def test_a_lost_or_emptied_database_beside_its_vectors_is_refused(tmp_path):
    store = _open(tmp_path)
    add_text(store, "A\n\nb", "a")
    store.close()
    (tmp_path / "rag.sqlite3").write_bytes(b"")
    with pytest.raises(StoreDamagedError, match="is empty"):
        _open(tmp_path)
    (tmp_path / "rag.sqlite3").unlink()
    with pytest.raises(StoreDamagedError, match="is missing"):
        _open(tmp_path)


def test_a_full_disk_stores_nothing_and_says_so(tmp_path):
    store = _open(tmp_path)
    add_text(store, "A\n\nb", "a")
    (pages,) = store.db.execute("PRAGMA page_count").fetchone()
    store.db.execute(f"PRAGMA max_page_count = {pages + 1}")  # SQLite's own "disk is full"
    big = "Big\n\n" + "\n\n".join(f"word{i} " * 200 for i in range(20))
    with pytest.raises(StorageFullError, match="disk is full"):
        add_text(store, big, "big")
    assert store.counts() == (1, 2) and store.document("big") is None
    assert store.vector_count() == 2


def test_damaged_pages_become_a_store_error():
    import sqlite3

    with pytest.raises(StoreDamagedError, match="damaged"), translated():
        raise sqlite3.DatabaseError("database disk image is malformed")


V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '', content_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL, metadata TEXT NOT NULL DEFAULT '{}');
CREATE TABLE chunks (id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE, ord INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL, vector BLOB NOT NULL);
CREATE INDEX chunks_doc ON chunks(doc_id, ord);
CREATE TABLE feedback (id TEXT PRIMARY KEY, key TEXT NOT NULL, question TEXT NOT NULL,
    resolved_question TEXT NOT NULL, answer TEXT, verdict TEXT NOT NULL, doc_id TEXT,
    start INTEGER, "end" INTEGER, text TEXT, created_at TEXT NOT NULL);
CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2');
CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text); END;
CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
"""


def test_an_index_from_before_collections_migrates_into_default(tmp_path):
    """Schema 1 (one FTS table fed by triggers, content unique index-wide) opens as schema
    2 with every document in the default collection, searchable and filterable."""
    import sqlite3

    from rag.core.filters import parse_filter
    from rag.core.selection import Selection
    from rag.stores import open_store
    from tests.support.stores import DIM, unit_vectors

    db = sqlite3.connect(tmp_path / "rag.sqlite3")
    db.executescript(V1_SCHEMA)
    db.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [("schema_version", "1"), ("embedding_model", "m"), ("dimension", str(DIM))],
    )
    db.execute(
        "INSERT INTO documents VALUES ('old', 'Old', 'Old\n\nLavrov met Kim', '', 'h1',"
        " '2024-01-01T00:00:00+00:00', '{\"year\": 2024}')"
    )
    db.execute(
        'INSERT INTO chunks(doc_id, ord, start, "end", text, vector) VALUES'
        " ('old', 0, 5, 19, 'Lavrov met Kim', ?)",
        (unit_vectors(1)[0].tobytes(),),
    )
    db.execute(
        "INSERT INTO feedback VALUES ('f', 'k', 'q', 'q', NULL, 'wrong', 'old', NULL, NULL,"
        " NULL, '2024-01-01T00:00:00+00:00')"
    )
    db.commit()
    db.close()
    store, _ = open_store(tmp_path, model_id="m", dimension=DIM)
    try:
        assert store.document("old").collection == "default"
        assert [i for i, _ in store.search_lexical("Lavrov", 3)] == [1]
        year = parse_filter({"field": "meta.year", "operator": "==", "value": 2024})
        assert store.selected_documents(Selection(("default",), year)) == ["old"]
        assert store.feedback()[0].collection == "default"
        add_text(store, "New\n\nLavrov again", "new")  # the old triggers are gone: no doubles
        assert len(store.search_lexical("Lavrov", 5)) == 2
        assert (
            store.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
            == "2"
        )
    finally:
        store.close()


def test_writes_by_another_process_are_seen_and_never_hidden_by_a_save(tmp_path):
    """A server's store stays open while ``rag sync`` or ``rag index`` (another process:
    here another store on the folder) writes: the server's searches find the other's
    passages, and neither its writes nor its saves stamp a vector file lacking them."""
    server = _open(tmp_path)
    add_text(server, "A\n\nb", "a")
    other = _open(tmp_path)
    _, _, v = add_text(other, "C\n\nd\n\ne", "c", seed=3)
    other.close()
    _, _, w = add_text(server, "F\n\ng", "f", seed=5)  # the server writes after the other
    server.close()  # its save must not claim a generation its vectors do not reflect
    again = _open(tmp_path)
    assert again.vector_count() == 7
    assert again.search_dense(v[2], 1)[0][1] == pytest.approx(1.0, abs=1e-5)
    other = _open(tmp_path)
    other.delete("c")
    _, _, x = add_text(other, "H\n\ni", "h", seed=7)
    other.close()
    assert again.search_dense(x[1], 1)[0][1] == pytest.approx(1.0, abs=1e-5), "seen at once"
    assert again.vector_count() == 6 and again.search_dense(w[0], 1)[0][1] > 0.99
    again.close()
    assert _open(tmp_path).vector_count() == 6
