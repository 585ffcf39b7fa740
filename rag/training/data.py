"""The training data of the reader: SQuAD questions → pairs → token windows → batches.

Each epoch draws fresh negatives (rag.training.negatives) from (seed, epoch) alone, so that an
epoch can be built in another process, or again after a resume, identically. Windows
are labelled with every gold answer's start and end token ([CLS] when the window
holds no answer), and batched by similar length so that padding costs little.
"""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult, Pool

import numpy as np
import torch

from rag.evaluation import squad
from rag.reading.windows import compact_tokens, context_mask, encode_windows, pad_compact
from rag.training.config import TrainConfig
from rag.training.negatives import NegativeMaker, Pair, make_pairs
from rag.training.targets import SparseTargets, load_targets
from rag.training.teachers import (
    TeacherWindow,
    WindowText,
    same_vocabulary,
    teacher_max_length,
    teacher_windows,
)

#: Pairs tokenised together: the tokenizer's output (offsets of every token of every
#: window) is several times the size of the windows kept from it.
ENCODE_CHUNK = 256


@dataclass
class Feature:
    """One labelled window, kept compact: an epoch holds ~160k of them, and as Python
    lists of ints they took 19 GB of a 24 GiB machine."""

    input_ids: np.ndarray  #: int32
    token_type_ids: np.ndarray | None  #: int8; None for models without segments (MPNet)
    starts: list[int]
    ends: list[int]
    #: the window's question and text, until the teachers' windows are made from it
    text: WindowText | None = None
    #: the window in the tokens of each teacher with another vocabulary (rag.training.teachers)
    teacher: list[TeacherWindow] | None = None
    #: the teachers' stored soft targets (``--teacher-targets``)
    targets: SparseTargets | None = None


def split(cfg: TrainConfig) -> tuple[list[squad.Example], list[squad.Example]]:
    """Training and validation questions, split by article (or by a fixed validation file)."""
    examples = squad.load(cfg.files)
    if cfg.validation is not None:
        # A fixed held-out file: runs that differ in seed or recipe are compared on
        # the same articles, and the split can favour articles scored like the target.
        val = squad.load([cfg.validation])
        train = squad.exclude_articles_of(examples, val)
    else:
        train, val = squad.split_by_article(examples, cfg.val_articles, cfg.seed)
    if not val:
        raise squad.SquadError("no validation questions: hold out at least one article")
    if not train:
        raise squad.SquadError("no training questions left: every article is held out")
    if cfg.max_val_questions:
        val = random.Random(cfg.seed).sample(val, min(cfg.max_val_questions, len(val)))
    return train, val


def epoch_features(
    cfg: TrainConfig, epoch: int, train: Sequence[squad.Example] | None = None
) -> tuple[list[Feature], dict[str, int]]:
    """The windows of one epoch: fresh negatives every epoch, drawn from (seed, epoch) alone,
    so that an epoch can be built in another process or again after a resume.
    ``train``: the training questions when the caller has them (another process loads them)."""
    from transformers import AutoTokenizer

    if train is None:
        train, _ = split(cfg)
    rng = random.Random(f"{cfg.seed}:{epoch}")
    retrieved = None
    if cfg.retrieved_negatives > 0:
        from rag.training.mining import load

        retrieved = load(cfg.mined_path)  # written by the run before its first epoch
    pairs = make_pairs(train, cfg.shares, rng, NegativeMaker(train, retrieved))
    tokenizer = AutoTokenizer.from_pretrained(cfg.base_model)
    foreign = [AutoTokenizer.from_pretrained(path) for path in cfg.teacher]
    foreign = [t for t in foreign if not same_vocabulary(t, tokenizer)]
    features = build_features(tokenizer, pairs, cfg.max_length, cfg.stride, bool(foreign))
    if foreign:
        add_teacher_windows(features, foreign, teacher_max_length(cfg.max_length))
    if cfg.teacher_targets is not None:
        stored = load_targets(cfg.teacher_targets, epoch, [f.input_ids for f in features])
        for f, t in zip(features, stored, strict=True):
            f.targets = t
    counts = Counter(p.kind for p in pairs)
    counts["windows"] = len(features)
    counts["no-answer windows"] = sum(f.starts == [0] for f in features)
    return features, dict(counts)


def describe_epoch(epoch: int, counts: dict[str, int]) -> str:
    """The line a run prints for an epoch's windows: the pairs of each kind, the windows."""
    return f"epoch {epoch}: " + ", ".join(f"{v} {k}" for k, v in counts.items())


class EpochWindows:
    """The windows of the epoch being trained on and, on an accelerator, the next
    epoch's, built in another process while this one trains (on a CPU both would fight
    for the same cores)."""

    def __init__(
        self,
        cfg: TrainConfig,
        train: Sequence[squad.Example],
        epoch: int,
        echo: Callable[[str], None],
    ) -> None:
        self.cfg, self.train, self.echo = cfg, train, echo
        self._pool: Pool | None = None
        if cfg.prefetch if cfg.prefetch is not None else not cfg.device.startswith("cpu"):
            self._pool = multiprocessing.get_context("spawn").Pool(1)
        self.features = self._build(epoch)
        self._upcoming: AsyncResult | None = None
        if self._pool is not None:
            self._upcoming = self._pool.apply_async(epoch_features, (cfg, epoch + 1))

    def _build(self, epoch: int) -> list[Feature]:
        features, counts = epoch_features(self.cfg, epoch, self.train)
        self.echo(describe_epoch(epoch, counts))
        return features

    def advance(self, epoch: int) -> None:
        """Make ``epoch``'s windows the current ones (and start building the next)."""
        if self._upcoming is None:
            self.features = self._build(epoch)
            return
        self.features, counts = self._upcoming.get()
        self.echo(describe_epoch(epoch, counts))
        self._upcoming = self._pool.apply_async(epoch_features, (self.cfg, epoch + 1))

    def close(self) -> None:
        """Stop the other process: an epoch still being built is not needed any more."""
        if self._pool is not None:
            self._pool.terminate()


def build_features(
    tokenizer, pairs: Sequence[Pair], max_length: int, stride: int, keep_text: bool = False
) -> list[Feature]:
    """The labelled windows of ``pairs``, tokenised :data:`ENCODE_CHUNK` pairs at a time
    (``keep_text``: with each window's :class:`WindowText`)."""
    features: list[Feature] = []
    for lo in range(0, len(pairs), ENCODE_CHUNK):
        chunk = pairs[lo : lo + ENCODE_CHUNK]
        features += _chunk_features(tokenizer, chunk, max_length, stride, keep_text)
    return features


def add_teacher_windows(features: Sequence[Feature], tokenizers: Sequence, max_length: int) -> None:
    """Give each window its :class:`TeacherWindow` for each of ``tokenizers`` (teachers
    with another vocabulary, in the run's order) and drop its text."""
    for lo in range(0, len(features), ENCODE_CHUNK):
        chunk = features[lo : lo + ENCODE_CHUNK]
        texts = [f.text for f in chunk]
        per_teacher = [teacher_windows(t, texts, max_length) for t in tokenizers]
        for row, f in enumerate(chunk):
            f.teacher = [windows[row] for windows in per_teacher]
            f.text = None


def _chunk_features(
    tokenizer, pairs: Sequence[Pair], max_length: int, stride: int, keep_text: bool
) -> list[Feature]:
    enc = encode_windows(
        tokenizer, [p[0] for p in pairs], [p[1] for p in pairs], max_length, stride
    )
    features = []
    for w in range(len(enc["input_ids"])):
        pair = pairs[enc["overflow_to_sample_mapping"][w]]
        spans = pair[2]
        offsets = enc["offset_mapping"][w]
        ctx = [i for i, is_ctx in enumerate(context_mask(enc, w)) if is_ctx]
        starts, ends = set(), set()
        if ctx:
            c0, c1 = ctx[0], ctx[-1]
            for a, b in spans:
                if a < offsets[c0][0] or b > offsets[c1][1]:
                    continue
                ts = c0
                while ts <= c1 and offsets[ts][0] <= a:
                    ts += 1
                te = c1
                while te >= c0 and offsets[te][1] >= b:
                    te -= 1
                if ts - 1 <= te + 1:
                    starts.add(ts - 1)
                    ends.add(te + 1)
        features.append(
            Feature(
                *compact_tokens(enc, w),
                sorted(starts) or [0],
                sorted(ends) or [0],
                _window_text(pair, offsets, ctx) if keep_text else None,
            )
        )
    return features


def _window_text(pair: Pair, offsets, ctx: list[int]) -> WindowText:
    spans = np.asarray([offsets[i] for i in ctx], dtype=np.int32).reshape(-1, 2)
    start, end = (int(spans[0, 0]), int(spans[-1, 1])) if len(spans) else (0, 0)
    first = ctx[0] if ctx else 0
    return WindowText(pair[0], pair[1], start, end, first, spans)


def length_grouped_batches(
    features: Sequence[Feature], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Batches of similar length (less padding), in random order."""
    idx = list(range(len(features)))
    rng.shuffle(idx)
    mega = batch_size * 50
    batches = []
    for lo in range(0, len(idx), mega):
        group = sorted(idx[lo : lo + mega], key=lambda i: len(features[i].input_ids))
        batches += [group[i : i + batch_size] for i in range(0, len(group), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(features: Sequence[Feature], pad_id: int) -> dict[str, torch.Tensor]:
    batch = pad_compact(features, pad_id)
    length = batch["input_ids"].shape[1]
    starts = torch.zeros((len(features), length), dtype=torch.bool)
    ends = torch.zeros((len(features), length), dtype=torch.bool)
    for row, f in enumerate(features):
        starts[row, f.starts] = True
        ends[row, f.ends] = True
    batch["gold_starts"] = starts
    batch["gold_ends"] = ends
    return batch
