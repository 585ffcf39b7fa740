"""``rag train-reader --write-targets N``: the teachers' soft targets over the windows of
the first N epochs, written once where the teachers run fast, for runs elsewhere to
distil from (``--teacher-targets``; the format: :mod:`rag.training.targets`).

It builds each epoch's windows exactly as a training run with the same options does
(:func:`rag.training.data.epoch_features`), reads them with the teachers, and keeps the
``TOP_K`` most probable positions of each distribution.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from rag.core.errors import TargetsError
from rag.training.config import TrainConfig, config_dict
from rag.training.data import Feature, collate, describe_epoch, epoch_features, split
from rag.training.mining import mine_for_run
from rag.training.targets import TARGETS_INFO, TOP_K, save_targets, sparse, window_checksum
from rag.training.teachers import Teacher, ensemble_targets, load_teachers


def write_targets(cfg: TrainConfig, echo: Callable[[str], None] = print) -> dict:
    """Write the teachers' soft targets (temperature 1, the ``TOP_K`` most probable
    positions) for the windows of the first ``cfg.write_targets`` epochs, into
    OUTPUT/targets; an epoch already written is kept, so a cut-off run resumes."""
    from transformers import AutoTokenizer

    t0 = time.monotonic()
    train, _ = split(cfg)
    cfg.output.mkdir(parents=True, exist_ok=True)
    mine_for_run(cfg, train, echo)
    tokenizer = AutoTokenizer.from_pretrained(cfg.base_model)
    teachers = load_teachers(cfg, tokenizer, echo)
    if not teachers:
        raise TargetsError("--write-targets needs at least one --teacher")
    folder = cfg.output / "targets"
    for epoch in range(cfg.write_targets):
        if (folder / f"epoch-{epoch}.npz").is_file():
            echo(f"epoch {epoch}: written before, kept")
            continue
        features, counts = epoch_features(cfg, epoch, train)
        echo(describe_epoch(epoch, counts))
        rows = epoch_targets(teachers, features, tokenizer.pad_token_id or 0, cfg)
        checksums = np.array([window_checksum(f.input_ids) for f in features], dtype=np.uint32)
        save_targets(folder, epoch, checksums, rows)
        echo(f"epoch {epoch}: targets for {len(features)} windows ({time.monotonic() - t0:.0f} s)")
    info = {"epochs": cfg.write_targets, "top_k": TOP_K, "teachers": cfg.teacher}
    (folder / TARGETS_INFO).write_text(json.dumps({**info, "config": config_dict(cfg)}))
    return {**info, "folder": str(folder), "minutes": (time.monotonic() - t0) / 60}


def epoch_targets(
    teachers: Sequence[Teacher], features: Sequence[Feature], pad_id: int, cfg: TrainConfig
) -> dict[str, np.ndarray]:
    """The sparse targets of every window of an epoch, row ``i`` for window ``i``; read in
    batches of similar length (less padding), as many windows as a training batch."""
    n = len(features)
    rows = {
        "start_pos": np.zeros((n, TOP_K), dtype=np.int16),
        "start_logp": np.zeros((n, TOP_K), dtype=np.float16),
        "end_pos": np.zeros((n, TOP_K), dtype=np.int16),
        "end_logp": np.zeros((n, TOP_K), dtype=np.float16),
    }
    foreign = any(not t.same_vocab for t in teachers)
    device_type = torch.device(cfg.device).type
    order = sorted(range(n), key=lambda i: len(features[i].input_ids))
    for lo in range(0, n, cfg.batch_size):
        idx = order[lo : lo + cfg.batch_size]
        chosen = [features[i] for i in idx]
        batch = collate(chosen, pad_id)
        batch.pop("gold_starts"), batch.pop("gold_ends")
        batch = {k: v.to(cfg.device) for k, v in batch.items()}
        windows = [f.teacher for f in chosen] if foreign else None
        with torch.inference_mode(), torch.autocast(device_type, torch.bfloat16):
            found = ensemble_targets(teachers, batch, windows, 1.0)
        for name, probs in zip(("start", "end"), found, strict=True):
            pos, logp = sparse(probs)
            rows[f"{name}_pos"][idx], rows[f"{name}_logp"][idx] = pos, logp
    return rows
