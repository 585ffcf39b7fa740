"""``python -m benchmarks filters`` on a tiny corpus: filtered searches are exact (behaviour,
not timings)."""

from benchmarks import filters
from benchmarks.filters_corpus import CASES


def test_bench_filters_finds_exactly_the_exhaustive_top_10_on_sqlite(tmp_path):
    # 2,400 passages: a filter selecting all of them is past LISTED_PASSAGES (2,000), so
    # BM25 takes both of its restricted paths
    report = filters.run(
        passages=2_400,
        counts=(4, 4, 4),
        stores=("sqlite",),
        dense=("flat",),
        random_filters=60,
        agreement_documents=60,
        workdir=tmp_path,
    )
    (result,) = report["stores"]
    assert result["dense_index"]["kind"] == "flat" and result["questions"] == 4
    rows = {row["case"]: row for row in result["rows"]}
    assert list(rows) == list(CASES)
    shares = {"100 %": 2400, "one collection": 600, "10 %": 240, "1 %": 24, "0.1 %": 4}
    for case, passages in shares.items():
        assert rows[case]["matching_passages"] == passages
    assert rows["1 % (AND of two 10 %)"]["matching_passages"] == 24
    assert rows["0.1 % (date range)"]["matching_passages"] == 4
    assert rows["one document"]["matching_passages"] == 4
    for row in rows.values():
        assert row["recall_at_10"] == {"dense": 1.0, "lexical": 1.0, "fused": 1.0}, row
        assert row["hits_min_10_matching"] == row["hits_all_selected"] == 4, row
        assert row["selected_documents_agree"] in (True, None), row  # None: no selection
        assert row["p50_ms"] > 0 and row["warm_p50_ms"] > 0
    agreement = report["agreement"]
    assert agreement["filters"] == 60 and agreement["sqlite"]["agreements"] == 60
    assert "| 1 % | 24 |" in filters.table(report)
    assert not list(tmp_path.iterdir()), "throwaway indexes are removed"
