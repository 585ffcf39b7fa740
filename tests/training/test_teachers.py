"""Teachers with another vocabulary: their span probabilities reach the student's tokens
through character offsets. The proof: the packaged reader with two vocabulary entries
swapped (and its embedding rows with them) is the same model under another tokenizer,
so read through the texts it must teach what the original teaches on the student's batch."""

import dataclasses
import json
import random

import numpy as np
import pytest
import torch

from rag.core.errors import TargetsError
from rag.core.settings import PACKAGED_READER
from rag.evaluation import squad
from rag.training.config import TrainConfig
from rag.training.data import build_features, collate, epoch_features
from rag.training.negatives import Shares, make_pairs
from rag.training.targets import SparseTargets, dense_targets, sparse
from rag.training.teachers import (
    Teacher,
    WindowText,
    align,
    carry_over,
    ensemble_targets,
    teacher_max_length,
    teacher_windows,
)
from tests.support.paths import FIXTURES


def test_align_maps_teacher_tokens_onto_the_student_tokens_holding_their_characters():
    # paragraph "xx Sergei Lavrov." ; the window holds "Sergei Lavrov."
    text = WindowText(
        question="q",
        paragraph="xx Sergei Lavrov.",
        start=3,
        end=17,
        first=4,  # [CLS] q [SEP] then context
        offsets=np.array([[3, 9], [10, 16], [16, 17]], dtype=np.int32),
    )
    # the teacher splits "Lavrov" in two; offsets are into the window's text
    teacher = [(0, 0), (0, 1), (0, 0), (0, 6), (7, 10), (10, 13), (13, 14), (0, 0)]
    is_ctx = [False, False, False, True, True, True, True, False]
    starts, ends = align(text, teacher, is_ctx)
    assert starts.tolist() == [0, -1, -1, 4, 5, 5, 6, -1]
    assert ends.tolist() == [0, -1, -1, 4, 5, 5, 6, -1]


def test_carry_over_sums_onto_student_positions_and_renormalises():
    probs = torch.tensor([[0.2, 0.1, 0.3, 0.4]])
    index = torch.tensor([[0, -1, 2, 2]])
    out = carry_over(probs, index, 3)
    assert out.tolist()[0] == pytest.approx([0.2 / 0.9, 0.0, 0.7 / 0.9])


def _batch(tokenizer, max_length=40, stride=16):
    examples = squad.load([FIXTURES / "mini_squad.json"])
    pairs = make_pairs(examples, Shares(other_paragraph=0.5), random.Random(2))
    features = build_features(tokenizer, pairs, max_length, stride, keep_text=True)
    assert len(features) > len(pairs)  # some paragraphs span several windows
    chosen = features[:12]
    return collate(chosen, tokenizer.pad_token_id), [f.text for f in chosen]


def test_window_texts_hold_the_characters_of_their_context_tokens(student_tokenizer):
    batch, texts = _batch(student_tokenizer)
    for row, text in enumerate(texts):
        ids = batch["input_ids"][row].tolist()
        tokens = ids[text.first : text.first + len(text.offsets)]
        pieces = student_tokenizer.decode(tokens).replace(" ", "")
        assert pieces == text.context.lower().replace(" ", "")


@pytest.mark.model
def test_a_teacher_with_another_vocabulary_teaches_what_it_would_on_the_students_batch(
    student_tokenizer, packaged_teacher, permuted_teacher
):
    batch, texts = _batch(student_tokenizer)
    batch.pop("gold_starts"), batch.pop("gold_ends")
    same = packaged_teacher
    other = Teacher(str(permuted_teacher), "cpu").load(student_tokenizer)
    assert same.same_vocab and not other.same_vocab
    windows = teacher_windows(other.tokenizer, texts, teacher_max_length(40))
    # the teacher's own ids: "the" and "of" read differently from the student's batch
    assert any(
        w.input_ids.tolist() != batch["input_ids"][r][: len(w.input_ids)].tolist()
        for r, w in enumerate(windows)
    )
    with torch.inference_mode():
        want = ensemble_targets([same], batch, None, 2.0)
        got = ensemble_targets([other], batch, [[w] for w in windows], 2.0)
        with pytest.raises(ValueError, match="windows in its tokens"):
            ensemble_targets([other], batch, None, 2.0)
    # what can be carried over: [CLS] and the context (not the question, not [SEP])
    answerable = torch.zeros_like(want[0], dtype=torch.bool)
    for row, text in enumerate(texts):
        answerable[row, 0] = True
        answerable[row, text.first : text.first + len(text.offsets)] = True
    for w, g in zip(want, got, strict=True):
        assert g.sum(dim=1).tolist() == pytest.approx([1.0] * len(texts))
        assert not g[~answerable].any()
        w = w * answerable
        w = w / w.sum(dim=1, keepdim=True)
        assert torch.allclose(w, g, atol=1e-4)


@pytest.mark.model
def test_an_epoch_gives_windows_in_the_tokens_of_each_teacher_with_another_vocabulary(
    tmp_path, permuted_teacher
):
    from rag.core.settings import packaged_embedding_model

    cfg = TrainConfig(
        files=[FIXTURES / "mini_squad.json"],
        output=tmp_path,
        base_model=packaged_embedding_model(),
        teacher=[str(PACKAGED_READER), str(permuted_teacher)],
        retrieved_negatives=0,  # no mining for a fixture
        val_articles=1,
        seed=3,
    )
    features, _ = epoch_features(cfg, 0)
    plain, _ = epoch_features(dataclasses.replace(cfg, teacher=[]), 0)
    assert [f.input_ids.tolist() for f in features] == [f.input_ids.tolist() for f in plain]
    # one window each, for the permuted teacher only (the packaged one reads the batch)
    assert all(f.text is None and len(f.teacher) == 1 for f in features)
    assert all(f.teacher is None and f.text is None for f in plain)
    for f in features:
        w = f.teacher[0]
        assert len(w.input_ids) == len(w.starts) == len(w.ends) <= teacher_max_length(384)
        assert w.starts[0] == w.ends[0] == 0  # [CLS] teaches [CLS]
        assert w.starts.max() < len(f.input_ids) and w.ends.max() < len(f.input_ids)


@pytest.mark.model
def test_stored_targets_give_back_the_teachers_distribution_at_any_temperature(
    student_tokenizer, packaged_teacher
):
    batch, _ = _batch(student_tokenizer)
    batch.pop("gold_starts"), batch.pop("gold_ends")
    teacher = packaged_teacher
    length = batch["input_ids"].shape[1]
    with torch.inference_mode():
        at_1 = ensemble_targets([teacher], batch, None, 1.0)
        at_2 = ensemble_targets([teacher], batch, None, 2.0)
    # every position kept: exact up to float16
    rows = [sparse(p, k=length) for p in at_1]
    stored = [
        SparseTargets(rows[0][0][i], rows[0][1][i], rows[1][0][i], rows[1][1][i])
        for i in range(len(at_1[0]))
    ]
    for want, got in zip(at_1, dense_targets(stored, length, 1.0), strict=True):
        assert torch.allclose(got, want, atol=2e-3)
    for want, got in zip(at_2, dense_targets(stored, length, 2.0), strict=True):
        assert torch.allclose(got, want, atol=2e-3)
    # the default keeps the 16 most probable positions, padded where a row is shorter
    pos, logp = sparse(at_1[0])
    assert pos.shape == logp.shape == (len(at_1[0]), 16)
    short_pos, short_logp = sparse(at_1[0][:, :5])
    assert (short_pos[:, 5:] == -1).all() and np.isneginf(short_logp[:, 5:]).all()
    padded = [
        SparseTargets(short_pos[i], short_logp[i], short_pos[i], short_logp[i])
        for i in range(len(short_pos))
    ]
    start, _ = dense_targets(padded, 5, 1.0)
    assert start.sum(dim=1).tolist() == pytest.approx([1.0] * len(padded))


@pytest.mark.training
def test_targets_written_once_teach_a_later_run_of_the_same_windows(tmp_path):
    from rag.core.settings import packaged_embedding_model
    from rag.training.target_writer import write_targets
    from rag.training.trainer import Trainer

    base = dict(
        files=[FIXTURES / "mini_squad.json"],
        base_model=packaged_embedding_model(),
        init=str(PACKAGED_READER),
        retrieved_negatives=0,
        batch_size=2,
        val_articles=1,
        seed=3,
    )
    writer = TrainConfig(
        **base, output=tmp_path / "teach", teacher=[str(PACKAGED_READER)], write_targets=2
    )
    written = write_targets(writer, echo=lambda m: None)
    folder = tmp_path / "teach" / "targets"
    assert written["epochs"] == 2 and sorted(p.name for p in folder.glob("*.npz")) == [
        "epoch-0.npz",
        "epoch-1.npz",
    ]
    said: list[str] = []
    student = TrainConfig(
        **base, output=tmp_path / "student", teacher_targets=folder, minutes=0.05, epochs=2
    )
    result = Trainer(student, echo=said.append).run()
    assert any("distilling from the targets" in m for m in said)
    assert result["steps"] >= 1
    # the targets belong to these windows: another seed's windows are refused, and so is
    # a run longer than the epochs written
    other = dataclasses.replace(student, seed=4, output=tmp_path / "other")
    with pytest.raises(TargetsError, match="written for other windows"):
        Trainer(other, echo=lambda m: None).run()
    longer = dataclasses.replace(student, epochs=3, output=tmp_path / "longer")
    with pytest.raises(TargetsError, match="2 epoch"):
        Trainer(longer, echo=lambda m: None).run()


@pytest.mark.training
def test_a_training_run_learns_from_a_teacher_with_another_vocabulary(tmp_path, permuted_teacher):
    from rag.core.settings import packaged_embedding_model
    from rag.training.trainer import Trainer

    cfg = TrainConfig(
        files=[FIXTURES / "mini_squad.json"],
        output=tmp_path / "run",
        base_model=packaged_embedding_model(),
        init=str(PACKAGED_READER),
        teacher=[str(permuted_teacher)],
        minutes=0.05,
        epochs=1,
        batch_size=2,
        val_articles=1,
        seed=3,
    )
    said: list[str] = []
    result = Trainer(cfg, echo=said.append).run()
    assert any("reading the windows in its own tokens" in m for m in said)
    assert result["steps"] >= 1
    log = [json.loads(line) for line in (tmp_path / "run" / "training_log.jsonl").open()]
    assert any("val_f1" in r for r in log)
