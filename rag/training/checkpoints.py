"""Reader checkpoints of a training run: saved, scored on validation, kept when best,
and calibrated (the abstention threshold stored beside the weights); and the state that
``--resume`` goes on from (``resume.pt``: weights, optimiser, progress)."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file

from rag.evaluation import squad
from rag.evaluation.calibration import choose_threshold, write_threshold
from rag.reading.transformer import TransformerReader
from rag.training.negatives import Shares, make_pairs


def save_model(model, tokenizer, out: Path) -> None:
    """fp16 safetensors (half the size of fp32, no measurable loss) plus config and tokenizer."""
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    model.config.save_pretrained(out)
    tokenizer.save_pretrained(out)


def checkpoint_reader(path: Path, max_length: int, stride: int, device: str) -> TransformerReader:
    """The reader of a checkpoint, read with the windows it was trained on."""
    batch = 64 if not device.startswith("cpu") else 16
    return TransformerReader(
        path, max_length=max_length, stride=stride, device=device, batch_size=batch
    )


def evaluate_reader(
    reader: TransformerReader, examples: Sequence[squad.Example]
) -> tuple[dict[str, float], list[float]]:
    """Reader-only EM/F1 on gold paragraphs, and each question's top confidence."""
    per_pair = reader.read_pairs([e.question for e in examples], [e.context for e in examples])
    preds, confs = {}, []
    for ex, spans in zip(examples, per_pair, strict=True):
        preds[ex.id] = spans[0].text if spans else ""
        confs.append(spans[0].confidence if spans else 0.0)
    return squad.score(preds, examples), confs


def keep_if_best(
    candidate: Path, best: Path, scores: dict, best_f1: float, step: int, label: str
) -> float:
    """Make ``candidate`` the best checkpoint if its F1 beats ``best_f1``; the best F1."""
    if scores["f1"] <= best_f1:
        return best_f1
    shutil.rmtree(best, ignore_errors=True)
    candidate.rename(best)
    (best / "scores.json").write_text(json.dumps({"step": step, "weights": label, **scores}))
    return scores["f1"]


def calibrate(
    reader: TransformerReader,
    val: Sequence[squad.Example],
    rng: random.Random,
    folder: Path,
    *,
    max_length: int,
    stride: int,
) -> tuple[float, int]:
    """Choose the abstention threshold of ``reader`` on validation questions with their
    gold paragraph (answerable) and unanswerable pairs made from them (another
    paragraph, the closest paragraph without the answer, a changed question); store
    it in ``folder``. (threshold, unanswerable pairs)."""
    per_pair = reader.read_pairs([e.question for e in val], [e.context for e in val])
    answerable = [
        (
            p[0].confidence if p else 0.0,
            squad.best_over_truths(squad.f1_score, p[0].text if p else "", e.answers),
        )
        for p, e in zip(per_pair, val, strict=True)
    ]
    shares = Shares(other_paragraph=0.34, lexical=0.33, changed_question=0.33)
    negatives = [p for p in make_pairs(val, shares, rng) if not p.spans]
    neg = reader.read_pairs([p.question for p in negatives], [p.context for p in negatives])
    unanswerable = [p[0].confidence if p else 0.0 for p in neg]
    threshold = choose_threshold(answerable, unanswerable)
    write_threshold(
        folder,
        threshold,
        "validation articles: gold paragraph vs unanswerable pairs (another paragraph, "
        "the closest paragraph without the answer, a changed question), maximising "
        "expected F1",
        max_length=max_length,
        stride=stride,
    )
    return threshold, len(unanswerable)


@dataclass
class Progress:
    """Where a run is: what ``--resume`` restores (with the weights and the optimiser)."""

    step: int = 0
    epoch: int = 0
    #: batches of the current epoch already trained on: a resumed run skips them
    batch: int = 0
    best_f1: float = -1.0
    elapsed_s: float = 0.0


def save_state(folder: Path, model, ema, optim: torch.optim.Optimizer, at: Progress) -> None:
    """What ``--resume`` needs to go on where this run stops (written, then renamed)."""
    state = {
        "model": model.state_dict(),
        "ema": ema.state_dict() if ema is not None else None,
        "optim": optim.state_dict(),
        "progress": vars(at).copy(),
    }
    tmp = folder / "resume.pt.tmp"
    torch.save(state, tmp)
    tmp.replace(folder / "resume.pt")


def load_state(folder: Path, device: str) -> dict:
    path = folder / "resume.pt"
    if not path.is_file():
        raise FileNotFoundError(f"nothing to resume: {path} does not exist")
    return torch.load(path, map_location=device, weights_only=True)


def saved_progress(state: dict) -> dict:
    """The progress saved in a resume state (flat keys in states saved before 0.2)."""
    saved = (
        state["progress"]
        if "progress" in state
        else {k: state[k] for k in ("step", "epoch", "best_f1", "elapsed_s")}
    )
    # States saved before the batch was recorded repeated their epoch from its start
    return {"batch": 0, **saved}
