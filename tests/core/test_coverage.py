"""Weighing BM25 hits by their coverage of the question's rare words (rag/core/coverage.py)."""

from __future__ import annotations

import pytest

from rag.core.coverage import COVERAGE_POWER, idf, rarest, weigh_by_coverage


def test_a_hit_lacking_the_rare_word_falls_below_one_that_holds_it():
    """The short passage's higher BM25 (more common words, less length damping) loses to
    the one holding the name, found in one passage of 100."""
    frequencies = {"griheinzirk": 1, "ferry": 20, "passengers": 20}
    hits = [(1, 10.0), (2, 8.0)]  # 1: short, common words only; 2: long, with the name
    holds = {1: {"ferry", "passengers"}, 2: {"griheinzirk", "ferry", "passengers"}}
    weighed = weigh_by_coverage(hits, holds, frequencies, 100)
    assert [item for item, _ in weighed] == [2, 1]
    total = sum(idf(100, f) for f in frequencies.values())
    share = (total - idf(100, 1)) / total
    assert weighed[0][1] == pytest.approx(8.0)
    assert weighed[1][1] == pytest.approx(10.0 * share**COVERAGE_POWER)


def test_hits_holding_every_word_keep_their_bm25_order_and_ties_go_to_the_smaller_id():
    holds = {3: {"a", "b"}, 1: {"a", "b"}, 2: {"a", "b"}}
    weighed = weigh_by_coverage([(3, 5.0), (2, 5.0), (1, 7.0)], holds, {"a": 1, "b": 2}, 10)
    assert weighed == [(1, 7.0), (2, 5.0), (3, 5.0)]


def test_a_hit_whose_words_were_not_found_counts_as_holding_the_lightest():
    """A tokeniser that splits otherwise than the check must not zero a hit BM25 found."""
    weighed = weigh_by_coverage([(1, 4.0)], {}, {"rare": 1, "common": 9}, 10)
    lightest = idf(10, 9) / (idf(10, 1) + idf(10, 9))
    assert weighed == [(1, pytest.approx(4.0 * lightest**COVERAGE_POWER))]
    assert weighed[0][1] > 0


def test_without_weighed_words_the_hits_are_left_as_they_are():
    assert weigh_by_coverage([(2, 1.0), (1, 3.0)], {}, {"gone": 0}, 10) == [(2, 1.0), (1, 3.0)]
    assert weigh_by_coverage([], {}, {"a": 1}, 10) == []


def test_rarest_keeps_the_rarest_words_within_the_budget_in_the_question_order():
    frequencies = {"harbour": 9, "zanzibar": 1, "open": 3, "unknown": 0, "year": 50}
    assert rarest(frequencies, 5) == {"zanzibar": 1, "open": 3}
    assert list(rarest(frequencies, 100)) == ["harbour", "zanzibar", "open", "year"]
    assert rarest({"a": 2, "b": 2, "c": 2}, 4) == {"a": 2, "b": 2}, "ties: the earlier word"
