"""The benchmark commands run end to end on tiny inputs (behaviour, not timings)."""

import pytest

from rag.bench import indexing, scale
from rag.bench.common import markdown_table


def test_markdown_table():
    table = markdown_table([{"a": 1, "b": "x"}], [("a", "A"), ("b", "B")])
    assert table.splitlines() == ["| A | B |", "|---|---|", "| 1 | x |"]


@pytest.mark.slow
def test_bench_scale_on_a_small_synthetic_corpus(tmp_path):
    report = scale.run([150, 600], pool=200, queries=5, workdir=tmp_path)
    small, large = report["sizes"]
    assert small["passages"] == 150 and large["passages"] == 600
    assert small["vectors"] == "all from the model"
    assert large["vectors"].startswith("200 from the model, 400 noisy copies")
    assert small["dense_index"]["kind"] == "flat" and small["recall_at_10"] == 1.0
    assert small["server_peak_rss_mb"] > 100 and small["disk_mb"] > 0
    assert small["retrieval_ms_p50"] > 0
    assert set(small["stages_ms_p50"]) == {"embed", "dense", "lexical", "fetch"}
    assert "| 600 |" in scale.table(report)
    scale.plot(report, tmp_path / "scale.png")
    assert (tmp_path / "scale.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob("rag-bench-scale-*")), "throwaway indexes are removed"


@pytest.mark.slow
def test_bench_index_on_the_seeds():
    report = indexing.run()
    assert report["documents"] == 3 and report["passages"] >= 3
    assert report["encode_s"] > 0 and report["ratio_in_process"] > 0
    assert report["index_command_s"] > report["index_in_process_s"]
