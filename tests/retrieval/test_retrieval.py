import pytest

from rag.retrieval.hybrid import reciprocal_rank_fusion, score_blend


def test_rrf_rewards_items_ranked_by_both_lists():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 4, 1]], k=60)
    order = [item for item, _, _ in fused]
    assert order[:2] == [1, 3]
    scores = dict((item, score) for item, score, _ in fused)
    assert scores[1] == pytest.approx((1 / 61 + 1 / 63) / (2 / 61))
    ranks = {item: r for item, _, r in fused}
    assert ranks[4] == [None, 2]


def test_rrf_top_item_of_both_lists_scores_one():
    fused = reciprocal_rank_fusion([[7], [7]])
    assert fused[0][:2] == (7, 1.0)
    assert reciprocal_rank_fusion([[], []]) == []


def test_score_blend_weighs_normalised_scores_and_keeps_ranks():
    dense = [(1, 0.9), (2, 0.5), (3, 0.1)]
    lexical = [(3, 20.0), (4, 10.0), (1, 0.0)]
    fused = score_blend(dense, lexical, dense_weight=0.35)
    scores = {item: score for item, score, _ in fused}
    assert scores[3] == pytest.approx(0.65)  # last in dense (0), first in BM25 (1)
    assert scores[1] == pytest.approx(0.35)  # first in dense, last in BM25
    assert next(item for item, _, _ in fused) == 3
    assert {item: ranks for item, _, ranks in fused}[4] == [None, 2]
    assert score_blend([(5, 0.3)], [], 0.35)[0][:2] == (5, pytest.approx(0.35))
    assert score_blend([], [], 0.5) == []
