import pytest

from rag.retrieval import reciprocal_rank_fusion


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
