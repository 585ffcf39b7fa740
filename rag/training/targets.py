"""Stored soft targets: a teacher's distributions written once, read by later runs.

A teacher too large or too slow for the machine that trains the student (MPNet reads
24 windows/s on the 2-core CPU, where the student trains at ~17) can teach through
targets written once where it runs fast (``--write-targets``,
:mod:`rag.training.target_writer`): its distributions over each window of the coming
epochs, kept sparse. The windows of an epoch depend on (seed, epoch) and the options
alone, so the student's run (``--teacher-targets``) rebuilds exactly the windows the
targets were written for; a checksum of every window's tokens makes sure of it.

A targets folder holds ``epoch-N.npz`` (per window: the checksum, and the ``TOP_K``
most probable start and end positions with their log-probabilities) and
``targets.json`` (the epochs written, ``top_k``, the teachers and the writing run's
config).
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from rag.core.errors import TargetsError

if TYPE_CHECKING:
    from rag.training.config import TrainConfig

#: Positions kept per window and distribution: the rest of the mass is dropped.
TOP_K = 16
TARGETS_INFO = "targets.json"


@dataclass
class SparseTargets:
    """One window's stored soft targets: the ``TOP_K`` most probable student positions
    for start and end, with their log-probabilities at temperature 1."""

    start_pos: np.ndarray  #: int16
    start_logp: np.ndarray  #: float16
    end_pos: np.ndarray
    end_logp: np.ndarray


def window_checksum(input_ids: np.ndarray) -> int:
    return zlib.crc32(np.asarray(input_ids, dtype=np.int32).tobytes())


def sparse(probs: torch.Tensor, k: int = TOP_K) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most probable positions of each row of ``probs`` (B, L) and their
    log-probabilities (rows shorter than ``k`` padded with position -1, log p -inf)."""
    top = torch.topk(probs.float(), min(k, probs.shape[1]), dim=1)
    pos = np.full((probs.shape[0], k), -1, dtype=np.int16)
    logp = np.full((probs.shape[0], k), -np.inf, dtype=np.float16)
    pos[:, : top.indices.shape[1]] = top.indices.cpu().numpy()
    logp[:, : top.values.shape[1]] = torch.log(top.values).cpu().numpy()
    return pos, logp


def dense_targets(
    targets: Sequence[SparseTargets], length: int, temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Start and end distributions (B, ``length``) from stored targets, at
    ``temperature``: exp(log p / T) renormalised over the kept positions (exact for one
    teacher's kept positions; an ensemble's mean is softened as one distribution)."""
    result = []
    for pos_field, logp_field in (("start_pos", "start_logp"), ("end_pos", "end_logp")):
        pos = torch.from_numpy(np.stack([getattr(t, pos_field) for t in targets]).astype(np.int64))
        logp = np.stack([getattr(t, logp_field) for t in targets]).astype(np.float32)
        logp = torch.from_numpy(logp)
        keep = (pos >= 0) & (pos < length)
        weights = torch.softmax((logp / temperature).masked_fill(~keep, float("-inf")), dim=1)
        out = torch.zeros(len(targets), length)
        out.scatter_add_(1, pos.clamp(0, length - 1), weights.nan_to_num(0.0))
        result.append(out)
    return result[0], result[1]


def save_targets(
    folder: Path, epoch: int, checksums: np.ndarray, rows: dict[str, np.ndarray]
) -> None:
    """One epoch's targets (written, then renamed: a cut-off write leaves no file)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"epoch-{epoch}.tmp.npz"
    np.savez_compressed(tmp, checksum=checksums, **rows)
    tmp.replace(folder / f"epoch-{epoch}.npz")


def load_targets(folder: Path, epoch: int, input_ids: Sequence[np.ndarray]) -> list[SparseTargets]:
    """The stored targets of ``epoch``, one per window, after checking they were written
    for exactly these windows."""
    path = folder / f"epoch-{epoch}.npz"
    if not path.is_file():
        written = sorted(p.name for p in folder.glob("epoch-*.npz"))
        raise TargetsError(
            f"{path}: no targets for epoch {epoch} (written: {', '.join(written) or 'none'})"
        )
    data = np.load(path)
    checksums = data["checksum"]
    if len(checksums) != len(input_ids) or any(
        int(c) != window_checksum(ids) for c, ids in zip(checksums, input_ids, strict=True)
    ):
        raise TargetsError(
            f"{path} was written for other windows: the run must have the options "
            "(seed, shares of each kind, window length, stride, data) of the one that wrote it"
        )
    arrays = [data[name] for name in ("start_pos", "start_logp", "end_pos", "end_logp")]
    return [SparseTargets(*(a[i] for a in arrays)) for i in range(len(checksums))]


def check_targets(cfg: TrainConfig) -> None:
    """Refuse at the start a run that would outlast its stored targets."""
    if cfg.teacher_targets is None:
        return
    info_path = cfg.teacher_targets / TARGETS_INFO
    if not info_path.is_file():
        raise TargetsError(f"{cfg.teacher_targets}: no {TARGETS_INFO}: not a targets folder")
    written = json.loads(info_path.read_text())["epochs"]
    if math.ceil(cfg.epochs) > written:
        raise TargetsError(
            f"{cfg.teacher_targets} holds targets for {written} epoch(s); "
            f"--epochs {cfg.epochs:g} needs {math.ceil(cfg.epochs)}"
        )
