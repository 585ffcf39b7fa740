"""`rag reindex` (:func:`rag.service.rebuild.rebuild_index`): the store is rebuilt and
swapped in place, and what lives beside it stays: the API keys, the jobs, the sync
manifest (told the new passages), the feedback (carried over). It does not run under a
process that has the index open, and nothing opens the index while it runs; a rebuild
interrupted mid-swap leaves an index that opens whole."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from rag.core.errors import StoreError
from rag.core.settings import Settings
from rag.core.types import Feedback
from rag.documents.chunking import Chunker
from rag.documents.ingest import make_document
from rag.documents.parsing import Parser
from rag.service.indexing import Indexer
from rag.service.job_store import JobStore
from rag.service.keys import KeyRing
from rag.service.manifest import Manifest
from rag.service.rebuild import rebuild_index
from rag.service.sync import FolderSync
from rag.stores import open_store
from rag.stores.sqlite import files
from tests.service.conftest import BACKENDS
from tests.support.paths import SEEDS

pytestmark = pytest.mark.model


def _open(settings: Settings, embedder):
    store, _ = open_store(
        settings.index_dir, model_id=embedder.identity, dimension=384, backend=settings.store
    )
    return store


def _synced(settings: Settings, embedder, docs, first: str | None = None) -> dict:
    """Sync ``docs`` into the settings' index (after storing and deleting a document of
    ``first``'s text: passage ids are never reused, so a rebuild gives new ones)."""
    store = _open(settings, embedder)
    indexer = Indexer(store, embedder, Chunker.from_settings(settings), Parser())
    manifest = Manifest(settings.index_dir)
    try:
        if first is not None:
            (stored, _), *_ = indexer.add_documents([make_document(first, title="Gone")])
            store.delete(stored.doc_id)
        return FolderSync(indexer, manifest, docs).run().as_dict()
    finally:
        manifest.close()
        indexer.close()
        store.close()


def _world(tmp_path, embedder, backend: str) -> dict:
    """A synced index of the seeds with a key, a verdict and a queued job."""
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    settings = Settings(index_dir=tmp_path / "index", embedder="fp32", store=backend)
    assert _synced(settings, embedder, docs, first="Kites\n\nKites fly.")["added"] == 3
    ring = KeyRing(settings.index_dir / "keys.sqlite3")
    key = ring.create("admin", "*")[1]
    store = _open(settings, embedder)
    doc = store.documents()[0].doc_id
    verdict = Feedback("Q?", "Q?", "A", "right", doc, 0, 3, "Put", "q", "2026-01-01", "f1")
    store.add_feedback(verdict)
    old = {d.doc_id: [c.id for c in store.document_chunks(d.doc_id)] for d in store.documents()}
    created = {d.doc_id: d.created_at for d in store.documents()}
    store.close()
    job = JobStore(settings.index_dir).add("default", "text", [b"Gulls\n\nGulls nest."], [], {})
    return {"docs": docs, "settings": settings, "ring": ring, "key": key, "verdict": verdict,
            "job": job, "old": old, "created": created}  # fmt: skip


@pytest.fixture(params=BACKENDS)
def world(request, tmp_path, embedder) -> dict:
    return _world(tmp_path, embedder, request.param)


@pytest.fixture
def sqlite_world(tmp_path, embedder) -> dict:
    return _world(tmp_path, embedder, "sqlite")


def test_keys_jobs_manifest_and_feedback_outlive_a_rebuild(world, embedder):
    settings = world["settings"]
    assert rebuild_index(settings, embedder=embedder) == 3
    assert world["ring"].verify(world["key"]) is not None, "the key still opens the service"
    assert JobStore(settings.index_dir).get(world["job"].id).state == "queued"
    store = _open(settings, embedder)
    try:
        assert store.feedback() == [world["verdict"]]
        new = {d.doc_id: [c.id for c in store.document_chunks(d.doc_id)] for d in store.documents()}
        created = {d.doc_id: d.created_at for d in store.documents()}
    finally:
        store.close()
    assert created == world["created"], "when each was first indexed stays"
    assert new.keys() == world["old"].keys() and new != world["old"], "passages cut again"
    manifest = Manifest(settings.index_dir)
    rows = manifest.entries("default", str(world["docs"].resolve()))
    manifest.close()
    assert {row.doc_id: list(row.passages) for row in rows.values()} == new
    report = _synced(settings, embedder, world["docs"])
    assert (report["unchanged"], report["changed"], report["embedded_passages"]) == (3, 0, 0)


def test_no_rebuild_under_an_open_index_and_no_open_during_one(world, embedder):
    settings = world["settings"]
    store = _open(settings, embedder)
    try:
        with pytest.raises(StoreError, match=r"open in another process.*stop it before"):
            rebuild_index(settings, embedder=embedder)
    finally:
        store.close()
    guarded = {"sqlite": "rag.sqlite3.lock", "milvus": "milvus.db.lock"}[settings.store]
    holder = subprocess.Popen(  # another process holding the lock as a rebuild does
        [sys.executable, "-c", HOLDER, str(settings.index_dir / guarded)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(StoreError, match="is being rebuilt"):
            _open(settings, embedder)
    finally:
        holder.kill()
        holder.wait()
    assert not (settings.index_dir.with_name("index.rebuild")).exists()
    _open(settings, embedder).close()  # the lock died with its process


HOLDER = """
import sys, time
from pathlib import Path
from rag.stores import lock
lock.hold(Path(sys.argv[1]), exclusive=True)
print("held", flush=True)
time.sleep(60)
"""


class _KilledAfter:
    """``os`` for one module, whose ``rename`` (or ``replace``) carries out ``renames``
    calls, then stops the rebuild as a kill would (other modules' renames untouched)."""

    def __init__(self, renames: int, name: str) -> None:
        self.renames, self.name, self.done = renames, name, 0

    def __getattr__(self, attr: str):
        if attr != self.name:
            return getattr(os, attr)

        def cut(src, dst):
            if self.done == self.renames:
                raise KeyboardInterrupt("killed")
            self.done += 1
            getattr(os, attr)(src, dst)

        return cut


@pytest.mark.parametrize("replaced", [0, 1, 2])
def test_a_swap_cut_short_leaves_an_index_that_opens_whole(
    sqlite_world, embedder, monkeypatch, replaced
):
    """Killed after ``replaced`` of the swap's renames (the database, then the FAISS file
    and its generation): the index opens with one version's documents and vectors."""
    settings = sqlite_world["settings"]
    monkeypatch.setattr(files, "os", _KilledAfter(replaced, "replace"))
    with pytest.raises(KeyboardInterrupt):
        rebuild_index(settings, embedder=embedder)
    monkeypatch.undo()
    store, _ = open_store(settings.index_dir, model_id=embedder.identity, dimension=384)
    try:
        assert store.counts() == (3, 9) and store.vector_count() == 9
        ids = {d.doc_id: [c.id for c in store.document_chunks(d.doc_id)] for d in store.documents()}
        assert (ids == sqlite_world["old"]) == (replaced == 0), "old index, else the new one"
        hit = store.search_dense(embedder.embed_query("Where was Kim invited?"), 1)
        assert hit[0][0] in {i for each in ids.values() for i in each} and hit[0][1] > 0.3
    finally:
        store.close()
    assert rebuild_index(settings, embedder=embedder) == 3, "and the next rebuild runs"


@pytest.mark.milvus
def test_a_milvus_lite_swap_cut_between_its_renames_puts_the_old_index_back(
    tmp_path, embedder, monkeypatch
):
    """Killed after the old folder was renamed aside and before the new one took its
    name: the next open finds the old index (not a new, empty one) and a rebuild runs."""
    from rag.stores.milvus import lite

    settings = _world(tmp_path, embedder, "milvus")["settings"]
    monkeypatch.setattr(lite, "os", _KilledAfter(1, "rename"))
    with pytest.raises(KeyboardInterrupt):
        rebuild_index(settings, embedder=embedder)
    monkeypatch.undo()
    assert not (settings.index_dir / "milvus.db").exists(), "cut between the renames"
    store = _open(settings, embedder)
    try:
        assert store.counts() == (3, 9) and store.feedback()
    finally:
        store.close()
    assert not (settings.index_dir / "milvus.db.old").exists()
    assert rebuild_index(settings, embedder=embedder) == 3, "and the next rebuild runs"


def test_a_milvus_server_index_is_refused_before_anything_is_read(tmp_path):
    settings = Settings(index_dir=tmp_path, store="milvus", milvus_uri="http://127.0.0.1:9")
    with pytest.raises(StoreError, match="not a Milvus server's"):
        rebuild_index(settings)


def test_files_a_rebuild_adds_go_into_their_collection_with_their_metadata(
    sqlite_world, embedder, tmp_path
):
    settings, extra = sqlite_world["settings"], tmp_path / "extra"
    extra.mkdir()
    (extra / "kites.txt").write_text("Kites\n\nThe Velmor kite flies over the lake.")
    added = rebuild_index(
        settings, [extra], embedder=embedder, collection="kites", metadata={"team": "air"}
    )
    assert added == 4
    store = _open(settings, embedder)
    try:
        (kite,) = store.documents(["kites"])
        assert store.document(kite.doc_id).metadata["team"] == "air"
        assert len(store.documents(["default"])) == 3
    finally:
        store.close()
