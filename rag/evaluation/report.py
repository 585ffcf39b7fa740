"""The figures of a ``rag eval`` report, from one row per question asked: SQuAD scores
(v1.1 for the best span, v2.0 for what a user is shown), retrieval recall, abstention
and latency percentiles.

Kept apart from the asking (:mod:`rag.evaluation.evaluate`) and light to import: the
benchmarks report their latencies with the same :func:`percentile`.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from rag.evaluation import squad


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (1 to 99) of ``values``, to 0.1 as reports give latencies
    (inclusive method: a small sample's p95 stays within its values); 0.0 for none."""
    if len(values) < 2:
        return round(float(values[0]), 1) if values else 0.0
    return round(statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1], 1)


def answer_scores(rows: Sequence[dict], examples: Sequence[squad.Example]) -> dict:
    """EM/F1 of the best span on the answerable questions (v1.1, whether or not it would
    be shown), and the official v2.0 scores of what a user gets (``v2_``): an abstention
    is the empty answer."""
    predictions = {r["id"]: r["prediction"] for r in rows}
    answerable = [e for e in examples if not e.impossible]
    scores = {k: round(v, 2) for k, v in squad.score(predictions, answerable).items()}
    shown = {r["id"]: r["prediction"] if r["answered"] else "" for r in rows}
    for k, v in squad.score_v2(shown, examples).items():
        scores[f"v2_{k}"] = round(v, 2) if isinstance(v, float) else v
    return scores


def reading_summary(rows: Sequence[dict], threshold: float, reader_name: str) -> dict:
    """Retrieval recall (@1 and @5 where the gold passage's rank was measured), the shares
    answered and abstained at ``threshold``, latency p50 and p95."""
    n = max(len(rows), 1)
    has_answer = [r for r in rows if not r["impossible"]]
    summary: dict = {}
    ranks = [r["gold_rank"] for r in has_answer if "gold_rank" in r]
    if ranks:
        summary["retrieval_recall_at_1"] = round(100.0 * sum(r == 1 for r in ranks) / len(ranks), 2)
        summary["retrieval_recall_at_5"] = round(
            100.0 * sum(r is not None for r in ranks) / len(ranks), 2
        )
    latencies = [r["ms"] for r in rows]
    return {
        **summary,
        "retrieval_recall": round(
            100.0 * sum(r["retrieved"] for r in has_answer) / max(len(has_answer), 1), 2
        ),
        "answered": round(100.0 * sum(r["answered"] for r in rows) / n, 2),
        "abstained": round(100.0 * sum(not r["answered"] for r in rows) / n, 2),
        "threshold": threshold,
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p95": percentile(latencies, 95),
        "reader": reader_name,
    }
