"""Span decoding: the start and end logits of windows → the passage's best answer spans.

transformers 5 has no question-answering pipeline any more, so this is ours: the
best (start, end) pairs within a length limit, their probability over all spans of
the passage's windows, and the preference for a shorter span nested in a longer
one when it is nearly as probable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

#: A span inside the best one is taken instead when it is at least this probable
#: relative to it ("Pyongyang" rather than "seated across a table from Kim in Pyongyang").
PREFER_SHORTER = 0.5


def _shortest_inside(
    candidates: list[tuple[float, int, int]], value: float, i: int, j: int, ratio: float
) -> tuple[int, int]:
    """The shortest candidate span nested in (i, j) whose score is within log(ratio)."""
    if ratio <= 0:
        return i, j
    floor = value + math.log(ratio)
    best = (j - i, i, j)
    for v, a, z in candidates:
        if v >= floor and i <= a and z <= j and z - a < best[0]:
            best = (z - a, a, z)
    return best[1], best[2]


@dataclass(frozen=True)
class TokenSpan:
    start: int
    end: int  #: inclusive token index
    probability: float  #: mass of the spans overlapping this one (its confidence)
    own: float  #: probability of exactly this span (what ranks spans of one passage)


def decode_windows(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    ctx_mask: torch.Tensor,
    max_answer_tokens: int,
    n_best: int = 1,
    prefer_shorter: float = PREFER_SHORTER,
) -> list[list[TokenSpan]]:
    """Best non-overlapping spans of each window with their probability.

    Probabilities come from one softmax over every valid (start, end) pair of the
    window *and* the no-answer score at [CLS], so a passage that does not hold the
    answer gives every span a low probability. A span's confidence is the mass of
    all spans that overlap it: "Tartu", "in Tartu" and "Tartu, Estonia" are one
    answer with three boundaries, and splitting the mass between them would make a
    sure answer look unsure. Valid spans lie inside the context (never across the
    question boundary) and are at most ``max_answer_tokens`` long.
    """
    s = start_logits.float()
    e = end_logits.float()
    batch, length = s.shape
    idx = torch.arange(length)
    band = (idx[None, :] >= idx[:, None]) & (idx[None, :] - idx[:, None] < max_answer_tokens)
    ctx = ctx_mask.bool()
    valid = band[None] & ctx[:, :, None] & ctx[:, None, :]
    scores = (s[:, :, None] + e[:, None, :]).masked_fill(~valid, float("-inf"))
    flat = scores.view(batch, -1)
    null = s[:, 0] + e[:, 0]
    logz = torch.logsumexp(torch.cat([flat, null[:, None]], dim=1), dim=1)
    probs = torch.exp(scores - logz[:, None, None])
    k = min(flat.shape[1], max(20, 4 * n_best))
    values, indices = flat.topk(k, dim=1)
    out: list[list[TokenSpan]] = []
    for b in range(batch):
        spans: list[TokenSpan] = []
        candidates = [
            (v, *divmod(x, length))
            for v, x in zip(values[b].tolist(), indices[b].tolist(), strict=True)
            if v != float("-inf")
        ]
        for value, i, j in candidates:
            if len(spans) >= n_best:
                break
            i, j = _shortest_inside(candidates, value, i, j, prefer_shorter)
            if any(not (j < sp.start or i > sp.end) for sp in spans):
                continue
            overlapping = probs[b, : j + 1, i:].sum().item()  # start <= j and end >= i
            own = math.exp(value - logz[b].item())
            spans.append(TokenSpan(i, j, min(overlapping, 1.0), own))
        out.append(spans)
    return out
