"""``python -m benchmarks train``: what length-grouped batches and shorter windows buy a
training run on this machine.

The same training pairs (a sample of SQuAD questions with the recipe's negatives) are
cut into windows of 384 tokens (the recipe's) and of 256, and each set is trained on for
a fixed number of steps twice: in batches of similar length (``length_grouped_batches``,
what ``rag train-reader`` does) and in batches drawn at random, both padded only to
their own longest window. Reported per arm: windows per second, the share of padding in
an epoch's batches, and the windows an epoch holds (a shorter window splits more
paragraphs). The shipped reader's F1 on validation questions read in windows of each
length says what shorter windows would cost at query time (it was trained at 384: a
reader trained at 256 is not measured here).
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from benchmarks.common import machine, markdown_table

LENGTHS = (384, 256)
STRIDE = 128


def _batches(features, batch_size: int, grouped: bool, seed: int) -> list[list[int]]:
    from rag.training.data import length_grouped_batches

    rng = random.Random(seed)
    if grouped:
        return length_grouped_batches(features, batch_size, rng)
    order = list(range(len(features)))
    rng.shuffle(order)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _padding(features, batches: list[list[int]]) -> float:
    """Share of the tokens of these batches that are padding."""
    real = padded = 0
    for batch in batches:
        lengths = [len(features[i].input_ids) for i in batch]
        real += sum(lengths)
        padded += max(lengths) * len(lengths)
    return 1 - real / max(padded, 1)


def _windows_per_s(student, features, batches: list[list[int]], steps: int) -> tuple[float, int]:
    """Windows per second over ``steps`` timed steps, after two warm-up steps (kernels for
    the first shapes); a sample with fewer batches goes round again. (rate, steps)"""
    from rag.training.data import collate

    timed = [batches[(2 + i) % len(batches)] for i in range(steps)]
    for batch in batches[:2]:
        student.training_step(collate([features[i] for i in batch], student.pad_id), 1e-6)
    t0 = time.perf_counter()
    for batch in timed:
        student.training_step(collate([features[i] for i in batch], student.pad_id), 1e-6)
    seconds = time.perf_counter() - t0
    return round(sum(len(b) for b in timed) / seconds, 2), len(timed)


def _arms(student, pairs, batch_size: int, steps: int, seed: int) -> list[dict]:
    """Each window length with length-grouped, then random batches."""
    from rag.training.data import build_features

    arms = []
    for max_length in LENGTHS:
        features = build_features(student.tokenizer, pairs, max_length, STRIDE)
        for grouped in (True, False):
            batches = _batches(features, batch_size, grouped, seed)
            rate, timed = _windows_per_s(student, features, batches, steps)
            arms.append(
                {
                    "max_length": max_length,
                    "batches": "length-grouped" if grouped else "random",
                    "windows_per_s": rate,
                    "padding_share": round(_padding(features, batches), 3),
                    "windows_per_epoch": len(features),
                    "mean_window_tokens": round(
                        sum(len(f.input_ids) for f in features) / len(features), 1
                    ),
                    "steps_timed": timed,
                }
            )
    return arms


def _reader_f1_by_window(validation: Path, questions: int, seed: int) -> tuple[int, dict]:
    """The shipped reader's F1 on a sample of ``validation`` read in windows of each
    length: (questions, {length: F1})."""
    from rag.core.settings import PACKAGED_READER
    from rag.evaluation import squad
    from rag.reading.transformer import TransformerReader
    from rag.training.checkpoints import evaluate_reader

    val = squad.load([validation])
    val = random.Random(seed).sample(val, min(questions, len(val)))
    f1 = {}
    for length in LENGTHS:
        reader = TransformerReader(PACKAGED_READER, max_length=length, stride=STRIDE)
        f1[str(length)] = round(evaluate_reader(reader, val)[0]["f1"], 2)
    return len(val), f1


def run(
    squad_file: Path,
    validation: Path | None = None,
    questions: int = 2000,
    steps: int = 15,
    batch_size: int = 32,
    val_questions: int = 2000,
    seed: int = 13,
) -> dict:
    import torch

    from rag.core.settings import PACKAGED_READER, packaged_embedding_model
    from rag.evaluation import squad
    from rag.training.config import TrainConfig
    from rag.training.negatives import NegativeMaker, make_pairs
    from rag.training.student import Student

    cfg = TrainConfig(
        files=[squad_file],
        base_model=packaged_embedding_model(),
        init=str(PACKAGED_READER),
        batch_size=batch_size,
        retrieved_negatives=0,  # mining takes minutes and does not change window lengths
        seed=seed,
    )
    examples = squad.load([squad_file])
    sample = random.Random(seed).sample(examples, min(questions, len(examples)))
    pairs = make_pairs(sample, cfg.shares, random.Random(seed), NegativeMaker(sample, None))
    student = Student(cfg, echo=lambda _: None).load()
    torch.manual_seed(seed)
    report = {
        "machine": machine(),
        "questions": len(sample),
        "pairs": len(pairs),
        "batch_size": batch_size,
        "stride": STRIDE,
        "arms": _arms(student, pairs, batch_size, steps, seed),
    }
    if validation is not None:
        n, f1 = _reader_f1_by_window(validation, val_questions, seed)
        report["validation_questions"] = n
        report["reader_f1_by_window"] = f1
    return report


def table(report: dict) -> str:
    rows = [{**a, "padding": f"{100 * a['padding_share']:.1f} %"} for a in report["arms"]]
    text = markdown_table(
        rows,
        [
            ("max_length", "window"),
            ("batches", "batches"),
            ("windows_per_s", "windows/s"),
            ("padding", "padding"),
            ("windows_per_epoch", "windows per epoch"),
            ("mean_window_tokens", "tokens per window"),
        ],
    )
    if "reader_f1_by_window" in report:
        f1 = report["reader_f1_by_window"]
        text += (
            f"\n\nshipped reader (trained at 384), {report['validation_questions']} validation "
            "questions, F1 read in windows of " + ", ".join(f"{k}: {v}" for k, v in f1.items())
        )
    return text
