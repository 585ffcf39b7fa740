import json

import pytest

from rag.evaluation import squad
from tests.support.paths import FIXTURES

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


def test_squad_2_scoring_counts_an_abstention_as_the_empty_answer(tmp_path):
    examples = squad.load([MINI])[:2]
    impossible = squad.Example(
        "x1", "Who painted the bridge?", examples[0].context, (), (), "a", 0, impossible=True
    )
    gold = [*examples, impossible]
    right = {examples[0].id: examples[0].answers[0], examples[1].id: examples[1].answers[0]}
    scores = squad.score_v2({**right, "x1": ""}, gold)
    assert scores["f1"] == 100.0 and scores["no_answer_f1"] == 100.0
    assert scores["has_answer_questions"] == 2 and scores["no_answer_questions"] == 1
    assert "no_answer_f1" not in squad.score_v2(right, examples)
    wrong = squad.score_v2({examples[0].id: "", "x1": "Maret Kask"}, gold)
    assert wrong["no_answer_exact_match"] == 0.0 and wrong["has_answer_f1"] == 0.0
    path = tmp_path / "v2.json"
    squad.dump(gold, path)
    assert json.loads(path.read_text())["version"] == "v2.0"
    assert [e.impossible for e in squad.load([path])].count(True) == 1


def test_the_seed_question_set_is_squad_2_and_its_answers_are_in_the_seeds():
    """benchmarks/data/seeds-v2.json (`rag eval` over the demo corpus): every article is a
    seed file as it ships, every gold answer is copied from a seed."""
    from tests.support.paths import ROOT, SEEDS

    examples = squad.load([ROOT / "benchmarks" / "data" / "seeds-v2.json"])
    seeds = {p.stem: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    assert {e.article.split(":", 1)[1] for e in examples} == set(seeds)
    assert sum(e.impossible for e in examples) == 8 and len(examples) == 38
    for ex in examples:
        assert ex.context == seeds[ex.article.split(":", 1)[1]]
        for answer, start in zip(ex.answers, ex.answer_starts, strict=True):
            assert any(answer in text for text in seeds.values())
            assert start == -1 or ex.context[start : start + len(answer)] == answer
