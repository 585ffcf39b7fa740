"""Teachers for distillation: readers whose span distributions the student learns from.

A teacher with the student's vocabulary reads the student's own batch. A teacher with
another tokenizer (all-mpnet-base-v2, the larger model the project can install) cannot:
fed the student's token ids it would read other words. It reads the same question and
the same stretch of paragraph in its own tokens instead, and its start and end
probabilities are carried onto the student's tokens through character offsets: a
teacher token's start probability goes to the student token holding its first
character, its end probability to the student token holding its last, [CLS] ("no answer
here") to [CLS]. Both tokenizers split on the same words, so almost all of the mass
lands on word boundaries the student can predict.

Tokenising and aligning are done when an epoch's windows are built
(:func:`teacher_windows`; on an accelerator, in the process that prepares the next
epoch), not per batch in the training loop: done per batch they held distillation on an
H100 to 350 windows/s, against 750 for training the teacher itself.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rag.core.errors import TargetsError
from rag.reading.windows import compact_tokens, context_mask, pad_compact

#: Teacher tokens beyond the student's window length: room for the teacher's own
#: special tokens and a tokenizer that splits a little finer.
EXTRA_TEACHER_TOKENS = 32


def teacher_max_length(student_max_length: int) -> int:
    return student_max_length + EXTRA_TEACHER_TOKENS


def same_vocabulary(tokenizer, student_tokenizer) -> bool:
    """Whether a teacher can read the student's own token ids."""
    return tokenizer.get_vocab() == student_tokenizer.get_vocab()


@dataclass
class WindowText:
    """What a teacher with another vocabulary needs of one student window."""

    question: str
    paragraph: str  #: shared with the window's pair, not copied
    start: int  #: the window's first context character in ``paragraph``
    end: int  #: one past its last
    first: int  #: index of the window's first context token
    offsets: np.ndarray  #: int32 (n, 2): each context token's characters in ``paragraph``

    @property
    def context(self) -> str:
        return self.paragraph[self.start : self.end]


@dataclass
class TeacherWindow:
    """One student window as a teacher with another vocabulary reads it."""

    input_ids: np.ndarray  #: int32, the teacher's tokens of question and context
    token_type_ids: np.ndarray | None  #: int8; None for teachers without segments (MPNet)
    starts: np.ndarray  #: int16: the student position of each token's start (-1: none)
    ends: np.ndarray  #: int16: the same for its end


def align(text: WindowText, teacher_offsets: Sequence[tuple[int, int]], is_context: Sequence[bool]):
    """Student positions of each teacher token: (for its start, for its end); -1 where it
    has none (question, special and padding tokens). Teacher offsets are into the
    window's context, as the teacher was given it; position 0 ([CLS]) maps to 0."""
    n = len(teacher_offsets)
    starts = np.full(n, -1, dtype=np.int64)
    ends = np.full(n, -1, dtype=np.int64)
    starts[0] = ends[0] = 0
    if len(text.offsets) == 0:
        return starts, ends
    s_start = text.offsets[:, 0] - text.start
    s_end = text.offsets[:, 1] - text.start
    t = np.asarray(teacher_offsets, dtype=np.int64).reshape(-1, 2)
    ctx = np.asarray(is_context, dtype=bool) & (t[:, 1] > t[:, 0])
    # the student token holding the first character: the last one starting at or before it
    first = np.searchsorted(s_start, t[:, 0], side="right") - 1
    # the student token holding the last character: the first one ending at or after it
    last = np.searchsorted(s_end, t[:, 1], side="left")
    ok_s = ctx & (first >= 0)
    ok_e = ctx & (last < len(s_end))
    starts[ok_s] = first[ok_s] + text.first
    ends[ok_e] = last[ok_e] + text.first
    return starts, ends


def carry_over(probs: torch.Tensor, index: torch.Tensor, length: int) -> torch.Tensor:
    """Teacher probabilities (B, Lt) summed onto student positions (B, ``length``) by
    ``index`` (B, Lt; -1: dropped), renormalised over what arrived."""
    out = torch.zeros(probs.shape[0], length, dtype=probs.dtype, device=probs.device)
    keep = index >= 0
    out.scatter_add_(1, index.clamp(min=0), probs * keep)
    return out / out.sum(dim=1, keepdim=True).clamp(min=1e-12)


class Teacher:
    """One teacher. ``load`` reads the model and its tokenizer once and decides how it
    reads: the student's batch (same vocabulary) or the windows in its own tokens
    (another one)."""

    def __init__(self, path: str, device: str) -> None:
        self.path = path
        self.device = device
        self.model = None
        self.tokenizer = None
        self.same_vocab = True

    def load(self, student_tokenizer) -> Teacher:
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.same_vocab = same_vocabulary(self.tokenizer, student_tokenizer)
        model = AutoModelForQuestionAnswering.from_pretrained(self.path, dtype=torch.float32)
        # a teacher only reads, under the student's bf16 autocast: weights cast once, not
        # on every forward pass (the packaged reader, 32 windows of 256 tokens on the
        # 2-core Xeon: 1.09 s against 1.79 s)
        self.model = model.to(torch.bfloat16).to(self.device).eval()
        return self

    def logits(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Start and end logits over the student's own batch (same vocabulary only)."""
        out = self.model(**batch)
        return out.start_logits.float(), out.end_logits.float()

    def carried_probs(
        self, windows: Sequence[TeacherWindow], length: int, temperature: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Start and end probabilities over the student's positions (B, ``length``),
        read from the windows in the teacher's own tokens (:func:`teacher_windows`)."""
        batch = pad_compact(windows, self.tokenizer.pad_token_id or 0)
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        start_logits, end_logits = self.logits(batch)
        pad = batch["attention_mask"] == 0
        result = []
        for logits, field in ((start_logits, "starts"), (end_logits, "ends")):
            probs = torch.softmax((logits / temperature).masked_fill(pad, float("-inf")), dim=1)
            index = np.full(tuple(pad.shape), -1, dtype=np.int64)
            for row, w in enumerate(windows):
                at = getattr(w, field)
                index[row, : len(at)] = at
            result.append(carry_over(probs, torch.from_numpy(index).to(probs.device), length))
        return result[0], result[1]


def teacher_windows(tokenizer, texts: Sequence[WindowText], max_length: int) -> list[TeacherWindow]:
    """The student windows ``texts`` in a teacher's own tokens, each token aligned with
    the student positions its probabilities go to."""
    enc = tokenizer(
        [t.question for t in texts],
        [t.context for t in texts],
        truncation="only_second",
        max_length=max_length,
        return_offsets_mapping=True,
    )
    windows = []
    for row, text in enumerate(texts):
        starts, ends = align(text, enc["offset_mapping"][row], context_mask(enc, row))
        ids, types = compact_tokens(enc, row)
        windows.append(TeacherWindow(ids, types, starts.astype(np.int16), ends.astype(np.int16)))
    return windows


def ensemble_targets(
    teachers: Sequence[Teacher],
    batch: dict[str, torch.Tensor],
    windows: Sequence[Sequence[TeacherWindow]] | None,
    temperature: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The soft targets of all teachers over the student's positions: teachers sharing the
    student's vocabulary teach through their mean logits, each other one through its
    carried-over probabilities; the distributions are averaged. ``windows``: for each
    student window, its :class:`TeacherWindow` for each teacher with another vocabulary,
    in the order of ``teachers``."""
    attn = batch["attention_mask"]
    same = [t for t in teachers if t.same_vocab]
    targets: list[tuple[torch.Tensor, torch.Tensor]] = []
    if same:
        outs = [t.logits(batch) for t in same]
        pair = []
        for k in (0, 1):
            mean = torch.stack([o[k] for o in outs]).mean(0) / temperature
            pair.append(torch.softmax(mean.masked_fill(attn == 0, float("-inf")), dim=1))
        targets.append((pair[0], pair[1]))
    foreign = [t for t in teachers if not t.same_vocab]
    if foreign and windows is None:
        raise ValueError("a teacher with another vocabulary needs the windows in its tokens")
    for i, t in enumerate(foreign):
        targets.append(t.carried_probs([w[i] for w in windows], attn.shape[1], temperature))
    start = torch.stack([s for s, _ in targets]).mean(0)
    end = torch.stack([e for _, e in targets]).mean(0)
    return start, end


# --------------------------------------------------------------------------- stored targets
#
# A teacher too large or too slow for the machine that trains the student (MPNet reads
# 24 windows/s on the 2-core CPU, where the student trains at ~17) can teach through
# targets written once where it runs fast: its distributions over each window of the
# coming epochs, kept sparse. The windows of an epoch depend on (seed, epoch) and the
# options alone, so the student's run rebuilds exactly the windows the targets were
# written for; a checksum of every window's tokens makes sure of it.

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
