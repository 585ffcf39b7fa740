"""`rag train-reader` and `rag perturb`: the lab's commands, run by their entry point in
this process (``rag_here``: the same output and exit status as a child process, without
starting Python and importing torch for each command; the tests in tests/training train
in this process too)."""

import json

import pytest

from tests.support.cli import one_error_line, rag_here
from tests.support.paths import FIXTURES


def test_train_reader_refuses_unusable_data_with_one_line(tmp_path):
    mini = str(FIXTURES / "mini_squad.json")
    missing = one_error_line(rag_here("train-reader", mini, "--validation", str(tmp_path / "nope")))
    assert "no such file" in missing
    not_squad = tmp_path / "notes.json"
    not_squad.write_text("[1, 2]")
    bad = one_error_line(
        rag_here("train-reader", str(not_squad), "--output", str(tmp_path / "run"))
    )
    assert "not a SQuAD" in bad
    # Holding out the training file itself leaves nothing to train on.
    empty = one_error_line(
        rag_here("train-reader", mini, "--validation", mini, "--output", str(tmp_path / "run"))
    )
    assert "no training questions" in empty


def test_train_reader_refuses_a_bad_device_or_nothing_to_resume(tmp_path):
    mini = str(FIXTURES / "mini_squad.json")
    device = one_error_line(rag_here("train-reader", mini, "--device", "toaster"))
    assert "unknown torch device" in device
    resume = one_error_line(rag_here("train-reader", mini, "--output", str(tmp_path), "--resume"))
    assert "nothing to resume" in resume
    encoder = one_error_line(rag_here("train-reader", mini, "--teacher-encoder", str(tmp_path)))
    assert "for a recipe's teacher stage" in encoder


def test_train_reader_refuses_stored_targets_it_cannot_use(tmp_path):
    mini = str(FIXTURES / "mini_squad.json")
    recipe = tmp_path / "recipe.json"
    recipe.write_text('{"stages": [{}]}')
    for args, expected in [
        (("--write-targets", "1"), "needs the teachers to write for"),
        (("--write-targets", "1", "--teacher", "t", "--teacher-targets", "x"), "cannot read"),
        (("--teacher-targets", str(tmp_path), "--teacher", "t"), "not both"),
        (("--teacher-targets", str(tmp_path / "nope")), "no such folder"),
        (("--teacher-targets", str(tmp_path), "--recipe", str(recipe)), "not a --recipe"),
        (("--teacher-targets", str(tmp_path), "--output", str(tmp_path / "r")), "not a targets"),
    ]:
        assert expected in one_error_line(rag_here("train-reader", mini, *args)), args


def test_train_reader_refuses_a_bad_recipe_with_one_line(tmp_path):
    mini = str(FIXTURES / "mini_squad.json")
    recipe = tmp_path / "recipe.json"
    for stages, expected in [
        ("[]", "not a recipe file"),
        ('{"stages": []}', "non-empty list of stages"),
        ('{"stages": [{"lr": 1e-4}, {"device": "cuda"}]}', "stage 2 cannot set device"),
        ('{"stages": [{"epochs": "two"}]}', "epochs must be a number"),
        ('{"stages": [{"role": "teacher"}, {}]}', "give its encoder with --teacher-encoder"),
    ]:
        recipe.write_text(stages)
        line = one_error_line(rag_here("train-reader", mini, "--recipe", str(recipe)))
        assert expected in line


@pytest.mark.model
def test_a_recipe_trains_its_stages_in_one_command_and_skips_finished_ones(tmp_path):
    mini = str(FIXTURES / "mini_squad.json")
    recipe = tmp_path / "recipe.json"
    quick = {"minutes": 0.02, "batch_size": 2, "val_articles": 1, "retrieved_negatives": 0}
    recipe.write_text(json.dumps({"stages": [{**quick, "lr": 1e-4}, {**quick, "lr": 3e-5}]}))
    out = tmp_path / "run"
    command = ("train-reader", mini, "--recipe", str(recipe), "--output", str(out))
    result = rag_here(*command)
    assert result.returncode == 0, result.stderr
    first = json.loads((out / "stage-1" / "best" / "training.json").read_text())["config"]
    second = json.loads((out / "stage-2" / "best" / "training.json").read_text())["config"]
    assert (first["lr"], second["lr"]) == (1e-4, 3e-5)
    assert first["init"] is None and second["init"] == str(out / "stage-1" / "best")
    again = rag_here(*command)
    assert again.returncode == 0 and again.stderr.count("trained before, kept") == 2


def test_perturb_writes_a_squad_2_file(tmp_path):
    out = tmp_path / "v2.json"
    mini = str(FIXTURES / "mini_squad.json")
    result = rag_here("perturb", mini, "--output", str(out), "--changed-questions", "1")
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["version"] == "v2.0"
    qas = [qa for a in data["data"] for p in a["paragraphs"] for qa in p["qas"]]
    assert any(qa.get("is_impossible") for qa in qas) and len(qas) > 6
    missing = one_error_line(rag_here("perturb", str(tmp_path / "nope.json"), "--output", str(out)))
    assert "no such file" in missing
