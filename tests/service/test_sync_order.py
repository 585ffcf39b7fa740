"""The order in which a sync writes, records and deletes: each case here lost or leaked a
document in the fuzzing of issue 37 (tests/support/sync_fuzz.py: syncs killed at random
lines and files made unreadable, then a sync to the end compared with a clean build).
A crash is a sync interrupted before its deletions, as a SIGKILL there would leave it:
every manifest and store write before it made."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rag.service.sync import FolderSync
from tests.support.paths import ROOT
from tests.support.syncing import UNREADABLE, paragraphs, write


def _sync(index, docs, batch: int | None = None) -> dict:
    return FolderSync(index.indexer, index.manifest, docs, batch=batch).run().as_dict()


def _crash_before_deletions(index, docs, monkeypatch) -> None:
    def killed(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(FolderSync, "_delete", killed)
    with pytest.raises(KeyboardInterrupt):
        _sync(index, docs, batch=1)
    monkeypatch.undo()


def _twins(index_at, docs, first: str, second: str, name: str, n: int = 2):
    """An index of a folder where ``first`` and ``second`` hold the same text (one
    document, ``first``'s id), synced."""
    write(docs / first, paragraphs(name, n))
    write(docs / second, paragraphs(name, n))
    index = index_at()
    index.sync(docs)
    return index


def _equals_a_clean_build(index, index_at, docs) -> None:
    clean = index_at("clean")
    clean.sync(docs)
    assert index.documents() == clean.documents()
    assert index.passages() == clean.passages()
    assert index.store.vector_count() == clean.store.vector_count()


def test_an_edited_file_keeps_its_new_version_when_another_file_holds_its_old_text(
    index_at, tmp_path
):
    """a.txt and z.txt share a document (a.txt's); a.txt is edited. z.txt's write removes
    that document: were it a store write after a.txt's new version (another batch, past 64
    changed files), it would delete the new version with no crash at all."""
    docs = tmp_path / "docs"
    index = _twins(index_at, docs, "a.txt", "z.txt", "shared", 3)
    write(docs / "a.txt", paragraphs("edited", 2))
    report = _sync(index, docs, batch=1)
    assert (report["changed"], report["failed"]) == (1, [])
    assert "edited1word" in index.documents()["a.txt"][1]
    assert "shared2word" in index.documents()["z.txt"][1]
    _equals_a_clean_build(index, index_at, docs)


def test_a_document_a_written_row_stops_naming_is_deleted_after_a_crash(
    index_at, tmp_path, monkeypatch
):
    """f.txt is edited and copied to c.txt (sorted first): the new text is written under
    c.txt's id and f.txt's row names it; f.txt's old document is left to the deletions.
    Killed before them, the next sync must still know that document is its own."""
    docs = tmp_path / "docs"
    write(docs / "f.txt", paragraphs("old", 3))
    index = index_at()
    index.sync(docs)
    write(docs / "f.txt", paragraphs("new", 2))
    write(docs / "c.txt", paragraphs("new", 2))
    _crash_before_deletions(index, docs, monkeypatch)
    assert set(index.documents()) == {"c.txt", "f.txt"}, "f.txt's old version, left"
    assert _sync(index, docs)["failed"] == []
    assert set(index.documents()) == {"c.txt"}
    _equals_a_clean_build(index, index_at, docs)


def test_a_document_a_kept_row_stops_naming_is_deleted_after_a_crash(
    index_at, tmp_path, monkeypatch
):
    """b.txt takes a.txt's text: its row names a.txt's document (kept, recorded first)
    and b.txt's own document is left to the deletions."""
    docs = tmp_path / "docs"
    write(docs / "a.txt", paragraphs("first", 2))
    write(docs / "b.txt", paragraphs("second", 2))
    write(docs / "n.txt", paragraphs("other", 1))
    index = index_at()
    index.sync(docs)
    write(docs / "b.txt", paragraphs("first", 2))
    write(docs / "n.txt", paragraphs("changed", 1))  # a write, so that the crash is after one
    _crash_before_deletions(index, docs, monkeypatch)
    assert "b.txt" in index.documents()
    assert _sync(index, docs)["failed"] == []
    assert set(index.documents()) == {"a.txt", "n.txt"}
    _equals_a_clean_build(index, index_at, docs)


def test_syncs_killed_at_random_lines_end_as_a_clean_build():
    """A few seeds of ``python -m tests.support.sync_fuzz`` (12 rounds of changes each,
    most syncs killed at a random line of rag/; docs/sync.md gives its figures over
    hundreds of seeds): each ends equal to a clean build of its folder."""
    run = subprocess.run(
        [sys.executable, "-m", "tests.support.sync_fuzz", "--seeds", "0:3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == {"seeds": 3, "failed": 0, "store": "sqlite"}


def test_a_document_kept_for_an_unreadable_file_is_deleted_once_it_is_mended(index_at, tmp_path):
    """b.txt and m.txt share b.txt's document; m.txt becomes unreadable (its document
    stays) and b.txt takes a.txt's new text (b.txt's row names a.txt's document). Once
    m.txt is mended, b.txt's old document must go: nothing else said it was the sync's."""
    docs = tmp_path / "docs"
    index = _twins(index_at, docs, "b.txt", "m.txt", "shared")
    (docs / "m.txt").write_bytes(UNREADABLE)
    write(docs / "a.txt", paragraphs("fresh", 2))
    write(docs / "b.txt", paragraphs("fresh", 2))
    report = _sync(index, docs)
    assert [f["file"] for f in report["failed"]] == ["m.txt"]
    assert "shared1word" in index.documents()["b.txt"][1], "m.txt's previous version"
    write(docs / "m.txt", paragraphs("mended", 2))
    assert _sync(index, docs)["failed"] == []
    assert set(index.documents()) == {"a.txt", "m.txt"}
    _equals_a_clean_build(index, index_at, docs)


def test_a_deleted_files_document_kept_for_an_unreadable_twin_goes_once_it_is_mended(
    index_at, tmp_path
):
    """f.txt and z.txt share f.txt's document; z.txt becomes unreadable and f.txt is
    deleted: the document stays for z.txt, and goes once z.txt is mended."""
    docs = tmp_path / "docs"
    index = _twins(index_at, docs, "f.txt", "z.txt", "twin")
    (docs / "z.txt").write_bytes(UNREADABLE)
    (docs / "f.txt").unlink()
    assert [f["file"] for f in _sync(index, docs)["failed"]] == ["z.txt"]
    assert set(index.documents()) == {"f.txt"}, "z.txt's previous version"
    write(docs / "z.txt", paragraphs("mended", 2))
    assert _sync(index, docs)["failed"] == []
    assert set(index.documents()) == {"z.txt"}
    _equals_a_clean_build(index, index_at, docs)
