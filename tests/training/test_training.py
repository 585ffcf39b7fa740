import dataclasses
import json
import random

import numpy as np
import pytest
import torch

from rag.core.settings import packaged_embedding_model
from rag.evaluation import squad
from rag.training.config import TrainConfig, config_dict
from rag.training.data import Feature, build_features, collate, length_grouped_batches
from rag.training.negatives import Pair, Shares, make_pairs
from rag.training.student import marginal_nll, soft_target_kl
from rag.training.trainer import Trainer
from tests.support.paths import FIXTURES

MINI = FIXTURES / "mini_squad.json"


def test_labels_point_at_every_gold_answer(tokenizer):
    examples = squad.load([MINI])
    z1 = next(e for e in examples if e.id == "z1")
    pairs = make_pairs([z1], Shares(other_paragraph=0.0), random.Random(0))
    (feature,) = build_features(tokenizer, pairs, max_length=384, stride=128)
    decoded = {
        tokenizer.decode(feature.input_ids[s : e + 1])
        for s in feature.starts
        for e in feature.ends
        if e >= s
    }
    assert "tartu" in decoded and "tartu, a university town in estonia" in decoded


def test_windows_without_the_answer_and_negatives_target_cls(tokenizer):
    examples = squad.load([MINI])
    z3 = next(e for e in examples if e.id == "z3")
    pairs = [Pair(z3.question, z3.context, [(z3.answer_starts[0], z3.answer_starts[0] + 4)])]
    features = build_features(tokenizer, pairs, max_length=40, stride=16)
    assert len(features) > 1
    assert any(f.starts == [0] and f.ends == [0] for f in features)
    assert any(f.starts != [0] for f in features)
    negatives = make_pairs(examples, Shares(other_paragraph=1.0), random.Random(1))
    for question, context, spans, _ in negatives:
        if not spans:
            gold = next(e for e in examples if e.question == question)
            assert context != gold.context


def test_losses():
    logits = torch.tensor([[0.0, 2.0, 2.0, -1.0]])
    gold = torch.tensor([[False, True, True, False]])
    attn = torch.tensor([[1, 1, 1, 0]])
    expected = -torch.log(2 * torch.exp(torch.tensor(2.0)) / (1 + 2 * torch.exp(torch.tensor(2.0))))
    assert marginal_nll(logits, gold, attn).item() == pytest.approx(expected.item(), rel=1e-5)
    masked = logits.masked_fill(attn == 0, float("-inf"))
    itself = torch.softmax(masked / 2.0, dim=1)
    assert soft_target_kl(logits, itself, attn, 2.0).item() == pytest.approx(0.0, abs=1e-6)
    other = torch.softmax((-logits).masked_fill(attn == 0, float("-inf")), dim=1)
    assert soft_target_kl(logits, other, attn, 1.0).item() > 0


def test_length_grouped_batches_cover_every_window_once(tokenizer):
    examples = squad.load([MINI])
    features = build_features(
        tokenizer, make_pairs(examples, Shares(0.5), random.Random(0)), 384, 128
    )
    batches = length_grouped_batches(features, 2, random.Random(0))
    assert sorted(i for b in batches for i in b) == list(range(len(features)))


def _tiny_run(tmp_path, **overrides) -> TrainConfig:
    """A run of seconds on the mini fixture: enough to exercise every stage. No retrieved
    negatives unless a test asks for them: mining loads the embedding model and indexes
    the fixture, seconds that only the test of mining during a run needs."""
    defaults = dict(epochs=1, batch_size=2, seed=3, retrieved_negatives=0)
    return TrainConfig(
        files=[MINI],
        output=tmp_path / "run",
        base_model=packaged_embedding_model(),
        **{**defaults, **overrides},
    )


@pytest.mark.training
def test_a_short_training_run_writes_a_loadable_reader(tmp_path):
    from rag.reading.transformer import TransformerReader

    cfg = _tiny_run(tmp_path, minutes=0.05, val_articles=1)
    result = Trainer(cfg, echo=lambda m: None).run()
    best = tmp_path / "run" / "best"
    assert (best / "model.safetensors").exists() and (best / "reader_config.json").exists()
    assert (tmp_path / "run" / "validation.json").exists()
    assert result["steps"] >= 1 and 0 <= result["best_val_f1"] <= 100
    # Both the raw weights and their moving average are validated at the end.
    log = [json.loads(line) for line in (tmp_path / "run" / "training_log.jsonl").open()]
    assert {r["weights"] for r in log if "val_f1" in r} == {"raw", "ema"}
    assert json.loads((best / "scores.json").read_text())["weights"] in {"raw", "ema"}
    reader = TransformerReader(best)
    spans = reader.read("Who designed the Quillon bridge?", ["Ilse Varga designed it."])
    assert spans and 0 <= spans[0].confidence <= 1


@pytest.mark.training
def test_a_validation_file_fixes_the_held_out_articles(tmp_path):
    examples = squad.load([MINI])
    _, val = squad.split_by_article(examples, 1, seed=5)
    held = tmp_path / "held.json"
    squad.dump(val, held)
    cfg = _tiny_run(tmp_path, minutes=0.02, validation=held)
    result = Trainer(cfg, echo=lambda m: None).run()
    assert result["val_questions"] == len(val)
    assert result["train_questions"] == len(examples) - len(val)
    written = squad.load([tmp_path / "run" / "validation.json"])
    assert sorted(e.id for e in written) == sorted(e.id for e in val)
    assert config_dict(cfg)["validation"] == str(held)


@pytest.mark.training
def test_next_epoch_built_in_another_process_and_training_resumes(tmp_path):
    shares = dict(
        lexical_negatives=1.0, retrieved_negatives=1.0, changed_questions=1.0, distractors=1.0
    )
    # batches of 8: the negatives make many windows, and each step here is a checkpoint
    shares["batch_size"] = 8
    cfg = _tiny_run(
        tmp_path, epochs=2, val_articles=1, prefetch=True, eval_every_minutes=0.0, **shares
    )
    messages: list[str] = []
    first = Trainer(cfg, echo=messages.append).run()
    # the shares reached the epoch built in the other process (one small article leaves
    # little to swap in a question or a distractor; tests/test_negatives.py covers those)
    epoch_lines = [m for m in messages if m.startswith("epoch 1:")]
    assert epoch_lines and "lexical" in epoch_lines[0] and "retrieved" in epoch_lines[0]
    # the retrieved negatives were mined once, before the first epoch, and kept for a resume
    assert (tmp_path / "run" / "retrieved-negatives.json").is_file()
    assert first["steps"] >= 2
    assert (tmp_path / "run" / "resume.pt").exists()
    resumed = _tiny_run(tmp_path, epochs=3, val_articles=1, resume=True, **shares)
    messages = []
    second = Trainer(resumed, echo=messages.append).run()
    assert any(m.startswith("resumed at step") for m in messages)
    assert second["steps"] > first["steps"]


def _saved_progress(run) -> dict:
    return torch.load(run / "resume.pt", weights_only=True)["progress"]


@pytest.mark.training
def test_a_resumed_run_goes_on_with_the_batches_of_its_epoch_it_had_not_reached(tmp_path):
    # no negatives: every epoch holds the same windows, so the steps say which batches ran
    plain = dict(negatives=0, lexical_negatives=0, changed_questions=0, distractors=0)
    cfg = _tiny_run(tmp_path, epochs=2, val_articles=1, eval_every_minutes=0.0, **plain)
    Trainer(cfg, echo=lambda m: None).run()
    first = _saved_progress(tmp_path / "run")  # saved after the last step of epoch 1
    per_epoch = first["step"] - first["batch"]
    assert first["epoch"] == 1 and first["batch"] == per_epoch
    resumed = _tiny_run(
        tmp_path, epochs=3, val_articles=1, eval_every_minutes=0.0, resume=True, **plain
    )
    Trainer(resumed, echo=lambda m: None).run()
    # epoch 1 was complete: the third epoch's steps are epoch 2's, not epoch 1 again
    last = _saved_progress(tmp_path / "run")
    assert last["step"] == 3 * per_epoch
    assert (last["epoch"], last["batch"]) == (2, per_epoch)


def test_the_shipped_recipe_chains_its_stages(tmp_path):
    from rag.core.settings import PACKAGED_READER
    from rag.training.recipes import recipe_stages

    command = _tiny_run(tmp_path)
    stages = recipe_stages(PACKAGED_READER / "recipe.json", command)
    assert [s.output.name for s in stages] == ["stage-1", "stage-2", "stage-3", "stage-4"]
    assert stages[0].init is None and stages[3].init == str(tmp_path / "run" / "stage-3" / "best")
    assert all(s.files == command.files and s.device == "cpu" for s in stages)
    assert [s.retrieved_negatives for s in stages] == [0, 0, 0.15, 0.15]
    assert [(s.lexical_negatives, s.answer_removed) for s in stages[2:]] == [(0.15, 0), (0, 0.15)]
    # stage 4 reuses what stage 3 mined (the same questions) instead of mining again
    assert stages[3].mined_from[2] == stages[2].mined_path


def test_a_teacher_stage_trains_from_its_own_encoder_and_teaches_the_later_stages(tmp_path):
    from rag.training.recipes import RecipeError, recipe_stages

    recipe = tmp_path / "recipe.json"
    recipe.write_text(
        json.dumps(
            {
                "stages": [
                    {"lr": 1e-4},
                    {"role": "teacher", "lr": 5e-5},
                    {"lr": 3e-5, "distill_weight": 0.5},
                    {"lr": 2e-5},
                ]
            }
        )
    )
    command = dataclasses.replace(_tiny_run(tmp_path), teacher_encoder="/models/mpnet")
    one, teacher, two, three = recipe_stages(recipe, command)
    run = tmp_path / "run"
    assert (teacher.base_model, teacher.init, teacher.teacher) == ("/models/mpnet", None, [])
    # the students chain past the teacher stage, and learn from it
    assert two.init == str(run / "stage-1" / "best") and two.base_model == command.base_model
    assert two.teacher == three.teacher == [str(run / "stage-2" / "best")]
    assert three.init == str(run / "stage-3" / "best") and one.teacher == []
    with pytest.raises(RecipeError, match="--teacher-encoder"):
        recipe_stages(recipe, _tiny_run(tmp_path))
    recipe.write_text(json.dumps({"stages": [{"lr": 1e-4}, {"role": "teacher"}]}))
    with pytest.raises(RecipeError, match="last stage trains a teacher"):
        recipe_stages(recipe, command)
    recipe.write_text(json.dumps({"stages": [{"role": "judge"}]}))
    with pytest.raises(RecipeError, match="role must be student or teacher"):
        recipe_stages(recipe, command)


def test_windows_of_a_model_without_segments_are_batched_without_them():
    """MPNet (the suggested teacher) has no token_type_ids; BERT-style models do."""
    ids = [np.array([0, 5, 6, 2], dtype=np.int32), np.array([0, 7, 2], dtype=np.int32)]
    plain = collate([Feature(i, None, [1], [2]) for i in ids], pad_id=1)
    assert "token_type_ids" not in plain
    assert plain["input_ids"].tolist() == [[0, 5, 6, 2], [0, 7, 2, 1]]
    assert plain["gold_starts"][0].tolist() == [False, True, False, False]
    segments = [np.zeros(len(i), dtype=np.int8) for i in ids]
    bert = collate([Feature(i, s, [1], [2]) for i, s in zip(ids, segments, strict=True)], 0)
    assert bert["token_type_ids"].shape == bert["input_ids"].shape
