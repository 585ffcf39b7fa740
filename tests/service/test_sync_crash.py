"""A `rag sync` killed with SIGKILL at random moments (ten times on SQLite, four on Milvus
Lite) while its folder keeps changing, then one sync to the end: the index equals a clean
build of the folder (the same documents, passages and answers). The child is the real
command with a model-free, deliberately slow embedder (tests/support/sync_child.py)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.core.settings import Settings
from rag.service.manifest import MANIFEST_NAME, Manifest
from rag.service.pipeline import Pipeline
from tests.support.embedding import HashEmbedder
from tests.support.paths import ROOT
from tests.support.syncing import SyncIndex, mutate, paragraphs, write

#: Kills per store: Milvus Lite's start makes each of its runs slower (10 there passed
#: too, in 2 minutes of a loaded 2-core machine: too long for every CI run).
KILLS = {"sqlite": 10, "milvus": 4}
QUESTIONS = ["What does paragraph 2 of the f3 file mention?", "Which file mentions f7x1word?"]


def _child(docs: Path, index: Path, store: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.sync_child", str(docs), "--json"],
        cwd=ROOT,
        env={**os.environ, "RAG_INDEX_DIR": str(index), "RAG_STORE": store},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_during_a_sync(
    docs: Path, index: Path, store: str, rng: random.Random, latest: float
) -> tuple[bool, float]:
    """Start a sync, SIGKILL it at a random moment up to ``latest`` seconds after it is
    ready: (whether it was still running, seconds it ran before it ended or was killed).
    A sync that ends before its moment is not waited for."""
    child = _child(docs, index, store)
    assert child.stderr.readline().strip() == "ready"
    started = time.monotonic()
    try:
        child.wait(timeout=rng.uniform(0.02, latest))
        running = False
    except subprocess.TimeoutExpired:
        running = True
    ran = time.monotonic() - started
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    return running, ran


@pytest.mark.model
@pytest.mark.parametrize("store", ["sqlite", pytest.param("milvus", marks=pytest.mark.milvus)])
def test_a_sync_killed_anywhere_is_finished_by_the_next_one(tmp_path, reader, store):
    rng = random.Random(37)
    docs, index = tmp_path / "docs", tmp_path / "index"
    (docs / "sub").mkdir(parents=True)
    for n in range(12):
        write(docs / f"f{n}.txt", paragraphs(f"f{n}x", rng.randint(1, 30)))
    kills, round_, mid_write, latest = 0, 0, 0, 1.0
    while kills < KILLS[store]:
        assert round_ < 3 * KILLS[store], "the syncs kept finishing before their kill"
        mutate(docs, rng, round_)
        running, ran = _kill_during_a_sync(docs, index, store, rng, latest)
        kills += running
        if not running:  # a fast machine: the moments are drawn within a sync's length
            latest = max(0.05, min(latest, 0.8 * ran))
        mid_write += _writes_begun(index, docs) > 0
        round_ += 1
    assert mid_write > 0, "no kill fell between a write's intent and its record"
    finished = _child(docs, index, store)
    out, err = finished.communicate(timeout=120)
    assert finished.returncode == 0, err
    assert json.loads(out)["failed"] == []

    synced, clean = SyncIndex(index, store), SyncIndex(tmp_path / "clean", store)
    try:
        clean.sync(docs)
        assert synced.documents() == clean.documents()
        assert synced.passages() == clean.passages()
        assert synced.store.vector_count() == clean.store.vector_count()
    finally:
        synced.close()
        clean.close()
    assert _answers(index, store, reader) == _answers(tmp_path / "clean", store, reader)


def _writes_begun(index: Path, docs: Path) -> int:
    """Intents a killed sync left in the manifest (writes begun, not recorded)."""
    if not (index / MANIFEST_NAME).exists():
        return 0
    manifest = Manifest(index)
    try:
        return len(manifest.pending("default", str(docs.resolve())))
    finally:
        manifest.close()


def _answers(index: Path, store: str, reader) -> list[tuple]:
    """Each question's answer and the (document, offsets) of what it cites."""
    settings = Settings(index_dir=index, store=store)
    pipeline = Pipeline(settings, reader=reader, embedder=HashEmbedder())
    pipeline.load()
    try:
        results = [pipeline.ask(q) for q in QUESTIONS]
    finally:
        pipeline.close()
    return [
        (r.answer, round(r.confidence, 4), [(c.doc_id, c.start, c.end) for c in r.passages])
        for r in results
    ]
