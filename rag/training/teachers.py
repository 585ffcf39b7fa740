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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from rag.reading.windows import compact_tokens, context_mask, pad_compact

if TYPE_CHECKING:
    from rag.training.config import TrainConfig

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


def load_teachers(
    cfg: TrainConfig, student_tokenizer, echo: Callable[[str], None]
) -> list[Teacher]:
    """The run's teachers (``--teacher``), each loaded once, saying how each reads."""
    teachers = []
    for path in cfg.teacher:
        teacher = Teacher(path, cfg.device).load(student_tokenizer)
        teachers.append(teacher)
        how = "its own batch" if teacher.same_vocab else "the windows in its own tokens"
        echo(f"distilling from {path}, reading {how} (weight {cfg.distill_weight})")
    return teachers
