"""Milvus-only behaviour of the store (the contract itself is in ``tests/stores/test_store.py``):
what a crashed write leaves behind, batched writes, the dense index type. Real Milvus Lite."""

from __future__ import annotations

import pytest

from rag.core.types import Chunk
from rag.documents.ingest import make_document
from rag.stores.milvus.store import MilvusStore
from rag.stores.milvus.writes import INSERT_ROWS
from tests.support.stores import DIM, add_text, unit_vectors

pytestmark = pytest.mark.milvus


def _open(path, **kwargs) -> MilvusStore:
    store = MilvusStore(str(path / "milvus.db"), model_id="m", dimension=DIM, **kwargs)
    store.open()
    return store


class Crash(Exception):
    pass


def _crash_before_document_rows(store: MilvusStore, monkeypatch) -> None:
    """Makes the next write stop after its passages and text, before its document rows."""
    for method in ("insert", "upsert"):
        write = getattr(store.client, method)

        def failing(collection, rows, *args, _write=write, **kwargs):
            if collection.endswith("_documents"):
                raise Crash
            return _write(collection, rows, *args, **kwargs)

        monkeypatch.setattr(store.client, method, failing)


def _crash_before_old_passages_go(store: MilvusStore, monkeypatch) -> None:
    """Makes the next write stop after its document rows, before the old version's
    passages are removed."""
    delete = store.client.delete

    def failing(collection, *args, filter="", **kwargs):
        if collection.endswith("_passages") and filter.startswith("id in"):
            raise Crash
        return delete(collection, *args, filter=filter, **kwargs)

    monkeypatch.setattr(store.client, "delete", failing)


@pytest.mark.parametrize("crash", ["before the new rows", "before the old passages go"])
def test_a_replacement_that_crashes_leaves_one_whole_version(tmp_path, monkeypatch, crash):
    store = _open(tmp_path)
    old, _, _ = add_text(store, "Old\n\nThe old tail about Lavrov.\n\nMore old text.", "doc")
    (_crash_before_document_rows if crash == "before the new rows" else
     _crash_before_old_passages_go)(store, monkeypatch)  # fmt: skip
    with pytest.raises(Crash):
        add_text(store, "New\n\nThe new text about Moscow.", "doc", seed=1)
    monkeypatch.undo()
    assert store.document("doc").title == ("Old" if crash == "before the new rows" else "New")
    store.close()

    reopened = _open(tmp_path)
    kept = reopened.document("doc")
    expected = old.text if crash == "before the new rows" else "New\n\nThe new text about Moscow."
    assert kept.text == expected  # the parts of one version, never a mix
    chunks = reopened.document_chunks("doc")
    assert [kept.text[c.start : c.end] for c in chunks] == [c.text for c in chunks]
    assert reopened.counts() == (1, len(chunks)) and len(chunks) == len(expected.split("\n\n"))
    gone = "Moscow" if crash == "before the new rows" else "Lavrov"
    assert not reopened.search_lexical(gone, 5)
    reopened.close()


def test_a_crashed_write_is_invisible_and_removed_on_open(tmp_path, monkeypatch):
    store = _open(tmp_path)
    add_text(store, "Kept\n\nRi Yong-ho met Lavrov.", "kept")
    _crash_before_document_rows(store, monkeypatch)
    with pytest.raises(Crash):
        add_text(store, "Lost\n\nThe crashed write about Moscow.\n\nTwo passages.", "lost")
    monkeypatch.undo()
    # passages without a document row are never returned
    hits = store.search_lexical("crashed write Moscow", 5)
    assert not store.chunks([i for i, _ in hits])
    assert store.document("lost") is None
    store.close()

    reopened = MilvusStore(str(tmp_path / "milvus.db"), model_id="m", dimension=DIM)
    assert reopened.open().removed == 3  # title and two paragraphs
    assert reopened.counts() == (1, 2) and reopened.vector_count() == 2
    assert not reopened.search_lexical("crashed write Moscow", 5)
    assert reopened.open().removed == 0  # the marks are gone with the orphans
    reopened.close()


def test_a_young_pending_write_of_another_replica_is_left_alone(tmp_path, monkeypatch):
    store = _open(tmp_path)
    _crash_before_document_rows(store, monkeypatch)
    with pytest.raises(Crash):
        add_text(store, "Busy\n\nAnother replica is still writing this.", "busy")
    monkeypatch.undo()
    store.close()

    server_like = MilvusStore(
        str(tmp_path / "milvus.db"), model_id="m", dimension=DIM, orphan_grace=600
    )
    assert server_like.open().removed == 0
    assert server_like.vector_count() == 2  # still there: it may yet be committed
    server_like.close()


def test_a_large_batch_is_written_in_several_requests(tmp_path):
    store = _open(tmp_path)
    n = INSERT_ROWS + 5
    items = []
    for i in range(n):
        document = make_document(f"Doc {i}\n\nPassage number {i} about topic{i}.", doc_id=f"d{i}")
        body = document.text.index("Passage")
        chunk = Chunk(document.doc_id, 0, body, len(document.text), document.text[body:])
        items.append((document, [chunk], unit_vectors(1, seed=i)))
    items.append(items[0])  # the same content twice in one batch is stored once
    results = store.add_many(items)
    assert [created for _, created in results].count(True) == n
    assert results[-1] == (results[0][0], False)
    assert store.counts() == (n, n)
    ids = [i for i, _ in store.search_lexical("topic2004", 3)]
    chunk, title = store.chunks(ids[:1])[ids[0]]
    assert title == "Doc 2004" and chunk.text == "Passage number 2004 about topic2004."
    assert len(store.documents()) == n
    store.close()


def test_the_dense_index_type_is_chosen_for_a_new_collection_and_kept(tmp_path):
    store = _open(tmp_path, index_type="FLAT")
    add_text(store, "Title\n\nOne passage.", "a")
    assert store.dense_info()["kind"] == "milvus-flat"
    store.close()
    reopened = _open(tmp_path)  # asks for HNSW, the collection says FLAT
    assert reopened.dense_info()["kind"] == "milvus-flat"
    assert reopened.search_dense(unit_vectors(1)[0], 1)
    reopened.close()
    fresh = _open(tmp_path / "new")
    assert fresh.dense_info()["kind"] == "milvus-hnsw"
    fresh.close()
    with pytest.raises(ValueError, match="HNSW, FLAT"):
        MilvusStore("x.db", model_id="m", dimension=DIM, index_type="DISKANN")


def _open_as_before_0_9(path, monkeypatch) -> MilvusStore:
    """A store whose collections are made as before version 0.9: passage ids from a
    counter in ``meta`` (not Milvus' own), documents without a metadata field."""
    from pymilvus import CollectionSchema

    add_field = CollectionSchema.add_field

    def old_field(schema, name, kind, **extra):
        if name == "metadata":
            return schema
        if name == "id":
            extra["auto_id"] = False
        return add_field(schema, name, kind, **extra)

    with monkeypatch.context() as patch:
        patch.setattr(CollectionSchema, "add_field", old_field)
        return _open(path)


def test_collections_from_before_0_9_are_written_as_they_are(tmp_path, monkeypatch):
    store = _open_as_before_0_9(tmp_path, monkeypatch)
    _, _, v = add_text(store, "Old\n\nalpha beta", "a")
    ids = sorted(i for i, _ in store.search_dense(v[0], 5))
    assert ids == [1, 2], "ids from the counter"
    store.delete("a")
    paged = make_document("Paged\n\ngamma", doc_id="p", metadata={"page_starts": [0, 7]})
    body = paged.text.index("gamma")
    chunk = Chunk("p", 0, body, body + 5, "gamma")
    store.add(paged, [chunk], unit_vectors(1, seed=3))
    store.close()

    reopened = _open(tmp_path)  # the collections keep their layout
    ((chunk_id, _),) = reopened.search_lexical("gamma", 3)
    assert chunk_id == 3, "advanced past the deleted ids: never reused"
    found, title = reopened.chunks([chunk_id])[chunk_id]
    assert title == "Paged" and found.pages == (), "no metadata field: no pages"
    assert reopened.document("p").metadata == {}
    _, _, v = add_text(reopened, "Next\n\ndelta", "n", seed=5)
    assert reopened.search_dense(v[1], 1)[0][0] == 5
    assert reopened.counts() == (2, 3)
    reopened.close()


HOLDER = """
import sys, time
from rag.stores.milvus.store import MilvusStore
MilvusStore(sys.argv[1], model_id="m", dimension=8).open()
print("open", flush=True)
time.sleep(60)
"""


def test_an_index_another_process_holds_is_one_plain_line(tmp_path, caplog):
    """Milvus Lite serves one process: a second one is told so in one line, without
    milvus-lite's logged traceback ("Open local milvus failed" said nothing)."""
    import subprocess
    import sys

    from rag.core.errors import StoreError

    _open(tmp_path).close()
    uri = str(tmp_path / "milvus.db")
    command = [sys.executable, "-c", HOLDER, uri]
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "open\n"
        with pytest.raises(StoreError, match="open in another process") as refused:
            _open(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    line = str(refused.value)
    assert "\n" not in line and "stop it, or use a Milvus server" in line
    assert not [r for r in caplog.records if r.exc_info], "no traceback logged"
    _open(tmp_path).close()  # free again once it is gone
