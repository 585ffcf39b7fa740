"""Question + passage → token windows the span model reads, and batches of them.

A passage longer than the model's window is read in overlapping windows (``stride``
tokens shared), each holding the whole (possibly truncated) question; the offset
mapping of every token leads back to characters of the passage. Batches group
windows of similar length, padded only to the longest of their batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

#: A question is cut to this many tokens so that a window always has room for context.
MAX_QUESTION_TOKENS = 64


def truncate_question(tokenizer, question: str, max_tokens: int = MAX_QUESTION_TOKENS) -> str:
    """Cut an over-long question so that a window always has room for context."""
    enc = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    offsets = enc["offset_mapping"]
    if len(offsets) <= max_tokens:
        return question
    return question[: offsets[max_tokens - 1][1]]


def encode_windows(
    tokenizer, questions: Sequence[str], contexts: Sequence[str], max_length: int, stride: int
):
    """Question + context windows with stride, keeping character offsets.

    Training and inference both call this, so the model sees at query time exactly
    the kind of window it was trained on.
    """
    questions = [truncate_question(tokenizer, q) for q in questions]
    return tokenizer(
        list(questions),
        list(contexts),
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )


def compact_tokens(encoding, window: int) -> tuple[np.ndarray, np.ndarray | None]:
    """A window's token ids (int32) and segment ids (int8; None for models without
    segments, MPNet), as training keeps them: an epoch holds ~160k windows."""
    ids = np.asarray(encoding["input_ids"][window], dtype=np.int32)
    if "token_type_ids" not in encoding:
        return ids, None
    return ids, np.asarray(encoding["token_type_ids"][window], dtype=np.int8)


def pad_compact(windows: Sequence, pad_id: int) -> dict[str, torch.Tensor]:
    """:func:`pad_batch` of windows kept as :func:`compact_tokens` (objects with
    ``input_ids`` and ``token_type_ids``: training windows, a teacher's windows)."""
    enc = {"input_ids": [w.input_ids for w in windows]}
    if windows and windows[0].token_type_ids is not None:
        enc["token_type_ids"] = [w.token_type_ids for w in windows]
    return pad_batch(enc, range(len(windows)), pad_id)


def context_mask(encoding, window: int) -> list[bool]:
    return [sid == 1 for sid in encoding.sequence_ids(window)]


def length_batches(
    lengths: Sequence[int], batch_size: int, max_padding: float = 0.15
) -> list[list[int]]:
    """Window indices grouped by length, so that little of a batch is padding.

    A batch closes when it is full or when padding would exceed ``max_padding`` of
    its tokens: the reader's cost is per token, padded ones included (three
    passages of 119, 222 and 252 tokens cost 756 tokens in one batch, 623 in two).
    """
    order = sorted(range(len(lengths)), key=lambda w: lengths[w])
    batches: list[list[int]] = []
    for w in order:
        batch = batches[-1] if batches else None
        if batch and len(batch) < batch_size:
            total = lengths[w] * (len(batch) + 1)
            real = sum(lengths[x] for x in batch) + lengths[w]
            if total - real <= max_padding * total:
                batch.append(w)
                continue
        batches.append([w])
    return batches


def pad_batch(
    encoding, windows: Sequence[int], pad_id: int, multiple: int = 1
) -> dict[str, torch.Tensor]:
    """Dynamic padding of a few windows to their own longest length, rounded up to a
    ``multiple`` (fewer distinct shapes: oneDNN compiles and caches a kernel per shape)."""
    length = max(len(encoding["input_ids"][w]) for w in windows)
    length = -(-length // multiple) * multiple
    ids = torch.full((len(windows), length), pad_id, dtype=torch.long)
    types = torch.zeros((len(windows), length), dtype=torch.long)
    attn = torch.zeros((len(windows), length), dtype=torch.long)
    for row, w in enumerate(windows):
        n = len(encoding["input_ids"][w])
        ids[row, :n] = torch.tensor(encoding["input_ids"][w])
        if "token_type_ids" in encoding:
            types[row, :n] = torch.tensor(encoding["token_type_ids"][w])
        attn[row, :n] = 1
    batch = {"input_ids": ids, "attention_mask": attn}
    if "token_type_ids" in encoding:
        batch["token_type_ids"] = types
    return batch
