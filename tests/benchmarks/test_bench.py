"""The benchmark commands run end to end on tiny inputs (behaviour, not timings)."""

import subprocess
import traceback

import pytest

from benchmarks import indexing, scale, training
from benchmarks.common import markdown_table
from tests.support.paths import FIXTURES


def test_markdown_table():
    table = markdown_table([{"a": 1, "b": "x"}], [("a", "A"), ("b", "B")])
    assert table.splitlines() == ["| A | B |", "|---|---|", "| 1 | x |"]


@pytest.mark.server
@pytest.mark.milvus
def test_bench_scale_on_a_small_synthetic_corpus(tmp_path, monkeypatch, embedder):
    # two builds, each served by a real `rag serve` (the cost of this test): one corpus of
    # model vectors and noisy copies of them on both stores. The servers read with the
    # model-free reader (inherited): retrieval is measured, and the reader's model took
    # half of each start and most of each question.
    monkeypatch.setenv("RAG_READER_MODEL", "lexical")
    both = ("sqlite", "milvus")
    report = scale.run([300], pool=20, queries=3, workdir=tmp_path, stores=both, embedder=embedder)
    sqlite, milvus = report["sizes"]
    assert (sqlite["passages"], sqlite["store"]) == (300, "sqlite")
    assert (milvus["passages"], milvus["store"]) == (300, "milvus")
    assert milvus["dense_index"] == {"kind": "milvus-hnsw", "vectors": 300}
    assert milvus["recall_at_10"] >= 0.9 and milvus["retrieval_ms_p50"] > 0
    assert sqlite["vectors"].startswith("20 from the model, 280 noisy copies")
    assert sqlite["dense_index"]["kind"] == "flat" and sqlite["recall_at_10"] == 1.0
    assert sqlite["server_peak_rss_mb"] > 100 and sqlite["disk_mb"] > 0
    assert sqlite["retrieval_ms_p50"] > 0
    assert set(sqlite["stages_ms_p50"]) == {"embed", "dense", "lexical", "fetch"}
    assert "| 300 | milvus |" in scale.table(report)
    scale.plot(report, tmp_path / "scale.png")
    assert (tmp_path / "scale.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob("rag-bench-scale-*")), "throwaway indexes are removed"


@pytest.mark.model
def test_bench_index_on_the_seeds():
    report = indexing.run()
    assert report["documents"] == 3 and report["passages"] >= 3
    assert report["encode_s"] > 0 and report["ratio_in_process"] > 0
    assert report["index_command_s"] > report["index_in_process_s"]
    fp32, int8 = report["embedders"]  # the command with each embedder, in the same run
    assert (fp32["embedder"], int8["embedder"]) == ("fp32", "int8")
    assert fp32["speedup"] == 1.0 and int8["command_s"] > 0 and int8["passages_per_s"] > 0


@pytest.mark.training
def test_bench_train_times_each_way_of_batching_on_a_fixture():
    fixture = FIXTURES / "mini_squad.json"
    report = training.run(fixture, fixture, questions=20, steps=2, batch_size=4)
    arms = report["arms"]
    assert [(a["max_length"], a["batches"]) for a in arms] == [
        (384, "length-grouped"),
        (384, "random"),
        (256, "length-grouped"),
        (256, "random"),
    ]
    assert all(a["windows_per_s"] > 0 and a["steps_timed"] == 2 for a in arms)
    # grouping by length never pads more than random batches of the same windows
    assert arms[0]["padding_share"] <= arms[1]["padding_share"]
    assert arms[2]["windows_per_epoch"] >= arms[0]["windows_per_epoch"]
    assert set(report["reader_f1_by_window"]) == {"384", "256"}
    assert "| 256 | random |" in training.table(report)


def _bench(*args: str) -> subprocess.CompletedProcess:
    """``python -m benchmarks …`` as the docs run it, by its typer app in this process:
    the refusals below come before any work, and a child spent a second starting. An
    escaped exception is written to stderr as the traceback a child would print."""
    from typer.testing import CliRunner

    from benchmarks.__main__ import app

    result = CliRunner().invoke(app, list(args))
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, stderr)


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_bench_refuses_bad_arguments_with_one_line(tmp_path):
    assert "RAG_NAME=value" in _one_error_line(_bench("query", "--set", "TOP_K=2"))
    missing = _one_error_line(_bench("scale", "--chunks", "10", "--squad", "nope.json"))
    assert "no such file" in missing
    # output paths are checked before the work starts, not after it
    nowhere = str(tmp_path / "missing")
    workdir = _one_error_line(_bench("scale", "--chunks", "10", "--workdir", nowhere))
    assert "no such folder" in workdir
    store = _one_error_line(_bench("scale", "--chunks", "10", "--store", "redis"))
    assert "sqlite and milvus" in store
    limit = _one_error_line(_bench("scale", "--chunks", "10", "--largest", "milvus=10"))
    assert "expected STORE=N" in limit
    out = _one_error_line(_bench("index", "--out", f"{nowhere}/index.json"))
    assert "does not exist" in out
    assert "no such file" in _one_error_line(_bench("train", "nope.json"))
    assert "kill, term or none" in _one_error_line(_bench("upload-page", "--restart", "soon"))
    assert "no such file" in _one_error_line(_bench("embedders", "--squad", "nope.json"))
