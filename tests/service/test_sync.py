"""`rag sync`'s library side (rag.service.sync, rag.service.sync_plan, rag.service.folder,
rag.service.manifest) on real stores, with an embedder that counts what it embeds (no
model: tests/support/embedding.py). The crash test is in test_sync_crash.py, questions
asked with the real models in test_sync_answers.py."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from rag.core.errors import StoreError
from rag.core.types import Feedback
from rag.documents.chunking import Chunker
from rag.service import folder
from rag.service.folder import path_id
from rag.service.manifest import MANIFEST_NAME, Manifest
from rag.service.sync import FolderSync
from rag.service.watch import FolderWatch
from tests.support.syncing import SyncIndex, paragraphs, write


def test_path_ids_are_the_path_where_valid_else_sanitised_and_hashed():
    assert path_id("report.txt") == "report.txt"
    ids = {path_id(p) for p in ("a/report.txt", "b/report.txt", "a_report.txt", "a report.txt")}
    assert len(ids) == 4 and "a_report.txt" in ids
    nested = path_id("a/report.txt")
    assert nested.startswith("a_report.txt-") and len(nested) == len("a_report.txt-") + 10
    assert path_id("notes-0123456789.txt") == "notes-0123456789.txt"  # not a hash's shape
    looks_hashed = "notes.txt-0123456789"  # a plain name shaped like a hashed id is hashed
    assert path_id(looks_hashed) != looks_hashed
    assert path_id("é/" + "x" * 300 + ".md").startswith("x" * 20)
    assert len(path_id("é/" + "x" * 300 + ".md")) <= 128 and path_id("----.txt")


def test_a_folder_is_added_then_skipped_and_touching_embeds_nothing(
    index_at, tmp_path, monkeypatch
):
    docs = tmp_path / "docs"
    for n in range(6):
        write(docs / f"f{n}.txt", paragraphs(f"file{n}", 3))
    write(docs / "a" / "report.txt", "Report A\n\nThe report of folder a.")
    write(docs / "b" / "report.txt", "Report B\n\nThe report of folder b.")
    write(docs / ".hidden" / "x.txt", "Hidden\n\nnot synced")
    write(docs / "notes.bin", "not a supported file")
    index = index_at()
    report = index.sync(docs)
    assert report == {**report, "added": 8, "changed": 0, "unchanged": 0, "failed": []}
    assert report["embedded_passages"] == len(index.embedder.embedded) == index.passage_count()
    assert {"a_report.txt", "b_report.txt"} <= {i.split("-")[0] for i in index.passages()}

    reads = []
    monkeypatch.setattr(folder, "read", lambda *a, read=folder.read: reads.append(a) or read(*a))
    index.embedder.embedded.clear()
    assert index.sync(docs) == {**report, "added": 0, "unchanged": 8, "embedded_passages": 0}
    assert reads == [], "an unchanged size and mtime skip the file"
    for path in docs.rglob("*.txt"):
        os.utime(path, ns=(1, path.stat().st_mtime_ns + 10**9))
    assert index.sync(docs)["embedded_passages"] == 0 and len(reads) == 8  # hashed, not embedded
    assert index.sync(docs)["embedded_passages"] == 0 and len(reads) == 8  # and recorded
    assert index.embedder.embedded == []


def test_edit_shortening_deletion_and_rename_embed_only_new_passages(index_at, tmp_path):
    """The issue's case: nothing removed is left anywhere in the index, only the changed
    passages are embedded, and the result equals a clean build of the folder."""
    docs = tmp_path / "docs"
    write(docs / "edit.txt", paragraphs("edit", 6))
    write(docs / "short.txt", paragraphs("short", 8))
    write(docs / "gone.txt", paragraphs("gone", 3))
    write(docs / "move.txt", paragraphs("move", 4))
    write(docs / "same.txt", paragraphs("same", 2))
    index = index_at(chunker=Chunker(target_words=25, max_words=40, overlap_words=5))
    index.sync(docs)
    before = index.passage_texts()
    index.embedder.embedded.clear()
    for n, doc_id in enumerate(("move.txt", "gone.txt")):
        question = f"question {n}?"
        verdict = Feedback(question, question, "text", "right", doc_id, key=question, id=f"f{n}")
        index.store.add_feedback(verdict)

    write(docs / "edit.txt", paragraphs("edit", 6).replace("edit3word", "fresh3word"))
    write(docs / "short.txt", paragraphs("short", 2))
    (docs / "gone.txt").unlink()
    (docs / "sub").mkdir()
    (docs / "move.txt").rename(docs / "sub" / "moved.txt")
    report = index.sync(docs)

    assert report == {
        "added": 0, "changed": 2, "unchanged": 1, "deleted": 1, "renamed": 1, "failed": [],
        "embedded_passages": report["embedded_passages"],
    }  # fmt: skip
    after = index.passage_texts()
    assert set(index.embedder.embedded) == after - before  # the edited passages only
    assert 0 < report["embedded_passages"] == len(after - before) < 4
    for removed in ("edit3word", "short5word", "gone1word"):
        assert not index.store.search_lexical(removed, 10), removed
        assert not [t for t in after if removed in t], removed
    assert "move.txt" not in index.passages() and path_id("sub/moved.txt") in index.passages()
    # the renamed file's feedback followed it; the deleted one's went with it
    assert [f.doc_id for f in index.store.feedback()] == [path_id("sub/moved.txt")]

    clean = index_at("clean", chunker=index.indexer.chunker)
    clean.sync(docs)
    assert index.documents() == clean.documents() and index.passages() == clean.passages()


def test_files_with_the_same_content_share_a_document_and_survive_either_deletion(
    index_at, tmp_path
):
    docs = tmp_path / "docs"
    write(docs / "a.txt", paragraphs("twin", 2))
    write(docs / "b.txt", paragraphs("twin", 2))
    index = index_at()
    index.sync(docs)
    assert list(index.passages()) == ["a.txt"]
    (docs / "a.txt").unlink()
    report = index.sync(docs)
    assert (report["deleted"], report["embedded_passages"]) == (1, 0)
    assert list(index.passages()) == ["b.txt"], "moved to the file that still holds it"
    write(docs / "c.txt", paragraphs("twin", 2))
    (docs / "b.txt").unlink()
    assert index.sync(docs)["renamed"] == 1 and list(index.passages()) == ["c.txt"]
    (docs / "c.txt").unlink()
    assert index.sync(docs, allow_empty=True)["deleted"] == 1 and index.passages() == {}


def test_a_folder_found_empty_deletes_nothing_unless_allowed(index_at, tmp_path):
    """An unmounted drive leaves an empty mount point: a sync of it would have deleted
    every document synced from it (and re-embedded them all once it is back)."""
    docs = tmp_path / "docs"
    write(docs / "a.txt", paragraphs("kept", 2))
    write(docs / "sub" / "b.txt", paragraphs("also", 2))
    index = index_at()
    index.sync(docs)
    stored = index.passages()
    shutil.rmtree(docs)
    docs.mkdir()
    with pytest.raises(StoreError, match="holds no files, but 2 were synced from it"):
        index.sync(docs)
    assert index.passages() == stored and len(stored) == 2, "nothing deleted"
    report = index.sync(docs, allow_empty=True)
    assert report["deleted"] == 2 and index.passages() == {}
    assert index.sync(docs)["deleted"] == 0, "an empty folder with nothing synced is no refusal"


def test_two_files_that_swap_contents_swap_documents(index_at, tmp_path):
    docs = tmp_path / "docs"
    write(docs / "x.txt", paragraphs("first", 2))
    write(docs / "y.txt", paragraphs("second", 2))
    index = index_at()
    index.sync(docs)
    index.embedder.embedded.clear()
    shutil.move(docs / "x.txt", docs / "tmp")
    shutil.move(docs / "y.txt", docs / "x.txt")
    shutil.move(docs / "tmp", docs / "y.txt")
    report = index.sync(docs)
    assert (report["changed"], report["embedded_passages"]) == (2, 0)
    assert "second1word" in index.documents()["x.txt"][1]
    assert "first1word" in index.documents()["y.txt"][1]


def test_a_file_that_cannot_be_read_keeps_its_previous_version(index_at, tmp_path):
    docs = tmp_path / "docs"
    write(docs / "good.txt", paragraphs("good", 2))
    index = index_at()
    index.sync(docs)
    (docs / "good.txt").write_bytes(b"\xff\xfe not text")
    (docs / "new.txt").write_bytes(b"binary\x00file")
    report = index.sync(docs)
    assert [f["file"] for f in report["failed"]] == ["good.txt", "new.txt"]
    assert "not UTF-8" in report["failed"][0]["detail"] and "\n" not in str(report["failed"])
    assert "good1word" in index.documents()["good.txt"][1]  # still indexed
    assert list(index.passages()) == ["good.txt"]
    write(docs / "good.txt", paragraphs("better", 2))
    (docs / "new.txt").unlink()
    assert index.sync(docs)["failed"] == [] and "better1word" in index.documents()["good.txt"][1]


def test_one_folder_per_collection_and_a_moved_folder_takes_over(index_at, tmp_path):
    docs, other = tmp_path / "docs", tmp_path / "other"
    write(docs / "a.txt", paragraphs("alpha", 2))
    write(other / "b.txt", paragraphs("beta", 2))
    index = index_at()
    index.sync(docs)
    with pytest.raises(StoreError, match=r"kept in sync with .*docs"):
        index.sync(other)
    assert index.sync(other, "hr")["added"] == 1  # another collection: fine
    moved = tmp_path / "moved"
    docs.rename(moved)
    index.embedder.embedded.clear()
    assert index.sync(moved)["unchanged"] == 1 and index.embedder.embedded == []


def test_a_lost_manifest_is_rebuilt_without_embedding_or_writing(index_at, tmp_path):
    docs = tmp_path / "docs"
    for n in range(3):
        write(docs / f"f{n}.txt", paragraphs(f"lost{n}", 2))
    index = index_at()
    index.sync(docs)
    ids = index.passage_ids()
    index.manifest.close()
    (index.path / MANIFEST_NAME).unlink()
    index.manifest = Manifest(index.path)
    index.embedder.embedded.clear()
    report = index.sync(docs)
    assert (report["embedded_passages"], report["added"], report["unchanged"]) == (0, 0, 3)
    assert index.passage_ids() == ids, "recorded as stored, not rewritten"
    assert index.sync(docs)["unchanged"] == 3


def test_a_second_sync_of_the_same_index_is_refused_while_one_runs(index_at, tmp_path):
    docs = tmp_path / "docs"
    write(docs / "a.txt", paragraphs("alpha", 2))
    index = index_at()
    other = Manifest(index.path)
    with other.lock(), pytest.raises(StoreError, match="another sync"):
        index.sync(docs)
    other.close()
    assert index.sync(docs)["added"] == 1


def test_a_missing_folder_is_refused(index_at, tmp_path):
    index = index_at()
    with pytest.raises(StoreError, match="no such folder"):
        FolderSync(index.indexer, index.manifest, tmp_path / "nope").run()


def _until(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_watched_folder_is_synced_at_start_and_once_per_burst_of_changes(tmp_path):
    docs = tmp_path / "docs"
    write(docs / "a.txt", paragraphs("alpha", 2))
    index = SyncIndex(tmp_path / "index")
    watch = FolderWatch(index.indexer, index.path, docs, quiet_ms=400).start()
    try:
        _until(lambda: watch.syncs == 1)
        assert list(index.passages()) == ["a.txt"]
        for n in range(5):  # one burst: one sync, once the folder is quiet
            write(docs / f"b{n}.txt", paragraphs(f"beta{n}", 2))
        (docs / "a.txt").unlink()
        _until(lambda: watch.syncs == 2)
        assert sorted(index.passages()) == [f"b{n}.txt" for n in range(5)]
        time.sleep(1.0)
        assert watch.syncs == 2
    finally:
        watch.stop()
        watch.join(10)
        index.close()
    assert not watch._thread.is_alive()


def test_content_left_by_a_crashed_write_is_never_taken_for_another_file(
    index_at, tmp_path, monkeypatch
):
    """A write killed after storing but before its row leaves a document holding content
    the manifest does not know of; a later file with that content must get its own
    document, not the one about to be rewritten (found by the crash test)."""
    docs = tmp_path / "docs"
    write(docs / "f.txt", paragraphs("first", 2))
    index = index_at()
    index.sync(docs)
    write(docs / "f.txt", paragraphs("second", 2))
    record = Manifest.record

    def crash(self, collection, root, entries, *args, **kwargs):
        if entries:
            raise KeyboardInterrupt  # killed between the store write and the row
        return record(self, collection, root, entries, *args, **kwargs)

    monkeypatch.setattr(Manifest, "record", crash)
    with pytest.raises(KeyboardInterrupt):
        index.sync(docs)
    monkeypatch.undo()
    write(docs / "a-copy.txt", paragraphs("second", 2))  # the stored, unrecorded content
    write(docs / "f.txt", paragraphs("third", 2))
    report = FolderSync(index.indexer, index.manifest, docs, batch=1).run().as_dict()
    assert report["failed"] == []
    assert "second1word" in index.documents()["a-copy.txt"][1]
    assert "third1word" in index.documents()["f.txt"][1]
    clean = index_at("clean")
    clean.sync(docs)
    assert index.documents() == clean.documents() and index.passages() == clean.passages()
