import json

import pytest

from rag import squad
from tests.conftest import FIXTURES

MINI = FIXTURES / "mini_squad.json"


def test_official_normalisation_and_f1():
    assert squad.normalize_answer("The  Moscow!") == "moscow"
    assert squad.exact_match("the Moscow", "Moscow.") == 1.0
    assert squad.f1_score("in Tartu Estonia", "Tartu") == pytest.approx(0.5)
    assert squad.f1_score("", "Tartu") == 0.0


def test_score_takes_the_best_gold_answer():
    examples = squad.load([MINI])
    preds = {"z1": "Tartu, a university town in Estonia", "q1": "river Aramo"}
    by_id = {e.id: e for e in examples}
    scores = squad.score(preds, [by_id["z1"], by_id["q1"]])
    assert scores["exact_match"] == 100.0 and scores["f1"] == 100.0


def test_load_split_and_dump_round_trip(tmp_path):
    examples = squad.load([MINI])
    assert len(examples) == 6
    for e in examples:
        for text, start in zip(e.answers, e.answer_starts, strict=True):
            assert e.context[start : start + len(text)] == text
    train, val = squad.split_by_article(examples, 1, seed=1)
    assert {e.article for e in train}.isdisjoint({e.article for e in val})
    out = tmp_path / "val.json"
    squad.dump(val, out)
    again = squad.load([out])
    assert [(e.id, e.answers) for e in again] == [(e.id, e.answers) for e in val]


def test_bad_files_are_reported(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"nodata": []}))
    with pytest.raises(squad.SquadFormatError, match="not a SQuAD"):
        squad.load([bad])
    # Valid JSON with a key missing deep inside is reported the same way.
    bad.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [{"qas": []}, {}]}]}))
    with pytest.raises(squad.SquadFormatError, match="not a SQuAD"):
        squad.load([bad])


def test_a_held_out_file_removes_whole_articles_from_training(tmp_path):
    examples = squad.load([MINI])
    _, val = squad.split_by_article(examples, 1, seed=1)
    # Only one question of the held-out article is written: its article still goes.
    held = tmp_path / "held.json"
    squad.dump(val[:1], held)
    train = squad.exclude_articles_of(examples, squad.load([held]))
    assert train and {e.article for e in train}.isdisjoint({e.article for e in val})
    assert len(train) == len(examples) - len(val)
