"""``rag index --ray`` on a real local Ray cluster of two nodes (two ``ray start``
processes on this machine, one CPU each): the index equals the one ``rag index`` makes
of the same folder (documents, passages, vectors within cosine 0.999, the answers to 20
questions), and a node whose raylet is killed (SIGKILL) mid-run loses and duplicates
nothing; files already stored are not embedded again.

One cluster for the module; the reference index is built while its nodes start. Both
indexes embed with the embedder the settings choose (``RAG_EMBEDDER``)."""

from __future__ import annotations

import importlib.util
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from rag.core.settings import Settings
from rag.retrieval.embedding import Embedder
from rag.service.indexing import indexer_for, open_index
from rag.service.pipeline import Pipeline
from tests.support.cli import rag
from tests.support.cluster import LocalCluster, fact_folder
from tests.support.processes import children

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.model,
    pytest.mark.skipif(
        importlib.util.find_spec("ray") is None, reason="pip install -e '.[cluster]'"
    ),
]


@dataclass
class World:
    docs: Path
    questions: list[tuple[str, str]]
    nodes: LocalCluster
    reference: Settings
    embedder: Embedder


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    questions = fact_folder(root / "docs")
    nodes = LocalCluster().start(2)  # they come up while the reference is built
    try:
        reference = Settings(docs_dir=root / "docs", index_dir=root / "reference")
        with indexer_for(reference) as indexer:
            results, errors = indexer.index_paths([root / "docs"])
            embedder = indexer.embedder
        assert (len(results), len(errors)) == (16, 1)
        nodes.wait()
        yield World(root / "docs", questions, nodes, reference, embedder)
    finally:
        nodes.stop()


def rag_index_on(world: World, index: Path) -> tuple[int, int, int, int]:
    """``rag index DOCS --ray ADDRESS`` into ``index``: (added, unchanged, skipped,
    passages embedded) as it prints them, checked against what ``rag index`` says of
    the folder (its file that is not UTF-8: one line, exit 1)."""
    env = {"RAG_INDEX_DIR": str(index), **world.nodes.env}
    done = rag("index", str(world.docs), "--ray", world.nodes.address, env=env)
    assert done.returncode == 1, done.stderr
    assert "broken.txt: not UTF-8 text" in done.stderr and "Traceback" not in done.stderr
    found = re.search(
        r"(\d+) added, (\d+) unchanged, (\d+) skipped; index: 16 documents, \d+ passages "
        r"\(Ray: 2 workers, (\d+) passages embedded",
        done.stdout,
    )
    assert found, done.stdout
    return tuple(int(n) for n in found.groups())  # type: ignore[return-value]


def snapshot(settings: Settings, embedder: Embedder) -> dict:
    """doc id → (document fields, passages, vectors) of an index."""
    store, _ = open_index(settings, embedder)
    try:
        found = {}
        for items in store.export():
            for document, chunks, vectors in items:
                fields = (document.title, document.text, document.source, document.metadata)
                passages = [(c.index, c.start, c.end, c.text, c.regions) for c in chunks]
                found[document.doc_id] = (fields, document.content_hash, passages, vectors)
        return found
    finally:
        store.close()


def assert_same_index(world: World, settings: Settings) -> None:
    expected, got = snapshot(world.reference, world.embedder), snapshot(settings, world.embedder)
    assert sorted(got) == sorted(expected)
    for doc_id, (fields, digest, passages, vectors) in expected.items():
        assert got[doc_id][:3] == (fields, digest, passages), doc_id
        cosines = np.sum(got[doc_id][3] * vectors, axis=1)
        assert cosines.min() >= 0.999, (doc_id, cosines.min())


def answers(world: World, settings: Settings, reader) -> list[tuple]:
    pipeline = Pipeline(settings, reader=reader, embedder=world.embedder)
    pipeline.load()
    try:
        found = []
        for question, _ in world.questions:
            result = pipeline.ask(question)
            cited = [(c.doc_id, c.start, c.end) for a in result.answers[:1] for c in a.sources]
            found.append((result.answer, cited))
        return found
    finally:
        pipeline.close()


def test_rag_index_on_two_nodes_makes_the_index_rag_index_makes(world, reader):
    index = world.docs.parent / "on-ray"
    passages = sum(len(p) for _, _, p, _ in snapshot(world.reference, world.embedder).values())
    assert rag_index_on(world, index) == (16, 0, 1, passages)  # added, unchanged, skipped
    settings = Settings(index_dir=index)
    assert_same_index(world, settings)
    expected = answers(world, world.reference, reader)
    assert answers(world, settings, reader) == expected
    right = [a for (a, _), (_, want) in zip(expected, world.questions, strict=True) if a == want]
    assert len(right) >= 15, expected  # the questions are about the folder's facts


class RayletKiller(threading.Thread):
    """Kills node ``node``'s raylet (SIGKILL) once the run is embedding: as soon as one
    of its embedding actors (on either node) has loaded a model (torch or ONNX Runtime),
    or :data:`GRACE` seconds after the first of them started. The run cannot end before
    its actors have started, and with a fast embedder the whole folder is embedded in
    about a second, so waiting for the killed node's own actor to get work could see the
    run end first. The pool's two actors need a CPU each, one per node."""

    def __init__(self, nodes: LocalCluster, node: int) -> None:
        super().__init__(daemon=True)
        self.nodes, self.node = nodes, node
        self.raylets = [nodes.raylet(i) for i in range(len(nodes.nodes))]
        self.killed_at: float | None = None
        self.stopped = threading.Event()

    def run(self) -> None:
        up = None
        while not self.stopped.wait(0.02):
            actors = [pid for r in self.raylets for pid in children(r) if _embeds(pid)]
            up = up if up is not None or not actors else time.monotonic()
            loaded = any(_has_model(pid) for pid in actors)
            if loaded or (up is not None and time.monotonic() - up > GRACE):
                self.nodes.kill_raylet(self.node)
                self.killed_at = time.monotonic()
                return


#: seconds after the first embedding actor starts that the kill comes at the latest
GRACE = 0.3


def _embeds(pid: int) -> bool:
    """Whether ``pid`` is an embedding actor (Ray names the process after its class)."""
    try:
        return b"MapBatches(EmbedPassages)" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _has_model(pid: int) -> bool:
    try:
        maps = Path(f"/proc/{pid}/maps").read_bytes()
    except OSError:
        return False
    return b"libtorch" in maps or b"onnxruntime" in maps


def test_a_node_killed_mid_run_loses_and_duplicates_nothing(world, tmp_path):
    settings = Settings(index_dir=tmp_path / "index")
    files = sorted(p for p in world.docs.iterdir() if p.name != "broken.txt")
    old = tmp_path / "old" / files[5].name  # a file changed since an earlier run stored it
    old.parent.mkdir()
    old.write_text("An earlier version\n\nThe Morvath bridge opened in 1901.")
    with indexer_for(settings) as indexer:  # an earlier run stored four files, then crashed
        indexer.index_paths([*files[:4], old])
        before = sum(len(indexer.store.document_chunks(p.stem)) for p in files[:4])
    killer = RayletKiller(world.nodes, 1)
    killer.start()
    added, unchanged, skipped, embedded = rag_index_on(world, tmp_path / "index")
    ended = time.monotonic()
    killer.stopped.set()
    assert killer.killed_at is not None and killer.killed_at < ended, "no kill mid-run"
    assert (added, unchanged, skipped) == (12, 4, 1)
    expected = snapshot(world.reference, world.embedder)
    assert embedded == sum(len(p) for _, _, p, _ in expected.values()) - before
    assert_same_index(world, settings)  # nothing lost, nothing twice
