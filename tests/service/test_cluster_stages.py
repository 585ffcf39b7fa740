"""The two stages of ``rag index --ray`` run here, without Ray: what they send back makes
the documents, passages and vectors the indexer makes of the same files; a file stored
with the same content is only marked; the workers' embedder is the driver's. And the
command's one-line refusals: no ray, a folder where the address goes, --rebuild, an
address that does not answer."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from rag.core.errors import IngestError
from rag.core.settings import Settings
from rag.documents import ingest
from rag.documents.chunking import Chunker
from rag.documents.parsing import Parser
from rag.service.cluster_stages import (
    FIELDS,
    EmbedPassages,
    ParseFiles,
    embedder_fields,
    load_document,
)
from rag.service.indexing import _read_checked
from tests.support.cli import one_error_line, rag, rag_here
from tests.support.cluster import fact_folder
from tests.support.embedding import HashEmbedder

PACKAGED = "sentence-transformers/all-MiniLM-L6-v2"


def batch(**columns) -> dict[str, np.ndarray]:
    out = {}
    for name, values in columns.items():
        out[name] = np.empty(len(values), dtype=object)
        out[name][:] = values
    return out


@pytest.fixture
def parser():
    made = Parser()
    yield made
    made.stop()


def test_the_stages_make_what_the_indexer_makes(tmp_path, parser):
    docs = tmp_path / "docs"
    fact_folder(docs, files=6)  # text, Markdown headings, an HTML page, a file not UTF-8
    paths = [str(p) for p in ingest.iter_files([docs])]
    meta, chunker = {"team": "ops"}, Chunker()
    parse = ParseFiles(parser.limits, chunker, "team-a", meta)
    parsed = parse(batch(path=paths, known=[""] * len(paths)))
    assert set(parsed) == set(FIELDS[:4])
    embed = EmbedPassages({"embedder": "fp32"}, PACKAGED)
    embed.embedder = HashEmbedder()  # the vectors' way back, without a model
    rows, with_regions = embed(parsed), 0
    for path, doc, error, stored, vectors in zip(*(rows[k] for k in FIELDS), strict=True):
        assert not stored
        try:
            want = _read_checked(Path(path), parser, "team-a", meta)
        except IngestError as exc:
            assert (error, doc, vectors) == (str(exc), "", b"")
            continue
        document, chunks, got = load_document(doc, vectors)
        with_regions += bool(document.regions)
        assert asdict(document) == asdict(want) and document.regions == want.regions
        expected = chunker.split(want)
        assert [(asdict(c), c.regions) for c in chunks] == [
            (asdict(c), c.regions) for c in expected
        ]
        assert np.allclose(got, HashEmbedder().embed([c.text for c in expected]))
    assert sum(bool(e) for e in rows["error"]) == 1
    assert with_regions  # the Markdown files' headings, carried to their passages


def test_a_file_stored_with_the_same_content_is_only_marked(tmp_path, parser):
    path = tmp_path / "notes.txt"
    path.write_text("Notes\n\nThe Hollin canal is 38 kilometres long.")
    digest = parser.read_file(path).content_hash
    parse = ParseFiles(parser.limits, Chunker(), "default")
    rows = parse(batch(path=[str(path)] * 2, known=[digest, "0" * 64]))
    assert list(rows["stored"]) == [True, False]
    assert rows["doc"][0] == "" and "Hollin canal" in rows["doc"][1]


def test_the_workers_embedder_is_the_drivers():
    settings = Settings()
    assert embedder_fields(settings, f"{PACKAGED}#int8-onnx", 2) == {
        "embedder": "int8",
        "threads": 2,
    }
    assert embedder_fields(settings, PACKAGED, 1) == {"embedder": "fp32", "threads": 1}
    other = Settings(embedding_model="/models/e5", embedder="fp32")
    assert embedder_fields(other, "/models/e5", 4)["embedding_model"] == "/models/e5"
    with pytest.raises(IngestError, match="install the same model on every node"):
        EmbedPassages({"embedder": "fp32"}, f"{PACKAGED}#int8-onnx")


def test_rag_index_ray_refusals_are_one_line(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("A\n\nThe Amberly clock was repaired in 2019.")
    env = {"RAG_INDEX_DIR": str(tmp_path / "index")}
    without_ray = "import sys; sys.modules['ray'] = None; from rag.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", without_ray, "index", str(docs), "--ray"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )
    assert one_error_line(done) == "error: ray is not installed: pip install -e '.[cluster]'"
    before = one_error_line(rag_here("index", "--ray", str(docs), env=env))  # in this process
    assert "a folder, not an address: give the folders before --ray" in before
    rebuild = one_error_line(rag_here("index", str(docs), "--rebuild", "--ray", env=env))
    assert rebuild == "error: --rebuild runs without --ray"
    if importlib.util.find_spec("ray") is not None:
        nowhere = one_error_line(rag("index", str(docs), "--ray", "127.0.0.1:1", env=env))
        assert nowhere.startswith("error: cannot connect to the Ray cluster at 127.0.0.1:1")
    assert not (tmp_path / "index").exists()  # refused before any index or model
