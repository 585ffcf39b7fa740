import json

import pytest

from rag.evaluation.calibration import choose_threshold, expected_f1, write_threshold


def test_threshold_maximises_right_answers_plus_right_abstentions():
    answerable = [(0.9, 1.0), (0.8, 1.0), (0.4, 0.0)]
    unanswerable = [0.3, 0.5]
    assert choose_threshold(answerable, unanswerable) == 0.8
    # at 0.8: two right answers, the wrong one and both unanswerable abstained
    assert expected_f1(answerable, unanswerable, 0.8) == pytest.approx(4 / 5)
    assert expected_f1(answerable, unanswerable, 0.0) == pytest.approx(2 / 5)
    assert choose_threshold([], []) == 0.0


def test_write_threshold_keeps_the_rest_of_the_reader_config(tmp_path):
    (tmp_path / "reader_config.json").write_text(json.dumps({"max_length": 384, "x": 1}))
    write_threshold(tmp_path, 0.123456, "how", stride=128)
    config = json.loads((tmp_path / "reader_config.json").read_text())
    assert config == {
        "max_length": 384,
        "x": 1,
        "stride": 128,
        "threshold": 0.1235,
        "threshold_chosen_on": "how",
    }
