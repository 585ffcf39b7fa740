"""Extractive readers: passages in, scored answer spans out.

Two implementations share one small interface (:class:`Reader`):

* :class:`TransformerReader` runs a SQuAD-style span model (by default the one
  trained by ``rag train-reader`` and shipped in ``rag/models/reader``).
* :class:`LexicalReader` needs no model at all; it is the fallback when no
  span model is available, and a baseline to beat.

Every span is a slice of the passage it came from, so ``context[start:end] == text``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from rag.text import STOPWORDS, WORD

#: Confidence threshold used when neither the settings nor the model say otherwise.
DEFAULT_THRESHOLD = 0.3
READER_CONFIG = "reader_config.json"
MAX_QUESTION_TOKENS = 64


@dataclass(frozen=True)
class Span:
    """An answer candidate inside one passage."""

    context: int  #: index of the passage in the list given to ``read``
    start: int  #: character offsets into that passage's text
    end: int
    text: str
    confidence: float  #: P(this span) against every span and "no answer", in 0..1


class Reader(Protocol):
    """What the pipeline and the evaluation need from a reader."""

    threshold: float
    model_name: str  #: what to report as the reader (a path, a hub name, "lexical")

    def warm_up(self) -> None:
        """Load models once, before the first question."""

    def read(self, question: str, contexts: Sequence[str]) -> list[Span]:
        """Best spans of every passage, most confident first."""

    def read_pairs(self, questions: Sequence[str], contexts: Sequence[str]) -> list[list[Span]]:
        """The spans of each (question, context) pair, most probable first; a model reader
        reads all pairs in shared batches."""


# --------------------------------------------------------------------------- windows


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


# --------------------------------------------------------------------------- decoding


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


# --------------------------------------------------------------------------- readers


def read_reader_config(model: str | Path) -> dict:
    path = Path(model) / READER_CONFIG
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return {}


class TransformerReader:
    """A span-extraction model (``AutoModelForQuestionAnswering``) with our own decoding."""

    def __init__(
        self,
        model: str | Path,
        *,
        max_length: int = 384,
        stride: int = 128,
        max_answer_tokens: int = 30,
        precision: str = "bf16",
        n_best: int = 2,
        batch_size: int = 16,
        threshold: float | None = None,
        device: str = "cpu",
    ) -> None:
        self.model_name = str(model)
        self.device = device
        self.max_length = max_length
        self.stride = stride
        self.max_answer_tokens = max_answer_tokens
        self.precision = precision
        self.n_best = n_best
        self.batch_size = batch_size
        config = read_reader_config(model)
        self.threshold = (
            threshold if threshold is not None else config.get("threshold", DEFAULT_THRESHOLD)
        )
        self._model = None
        self._tokenizer = None

    def warm_up(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        from rag.settings import offline_and_quiet

        offline_and_quiet()
        self._tokenizer = AutoTokenizer.from_pretrained(self.model_name)
        model = AutoModelForQuestionAnswering.from_pretrained(self.model_name, dtype=torch.float32)
        if self.precision == "bf16":
            # weights cast once: autocast would cast every weight on every forward pass
            # (3 passages: 38.6 ms with autocast, 32.2 ms with bf16 weights)
            model = model.to(torch.bfloat16)
        self._model = model.to(self.device).eval()
        self.read("warm up?", ["A short passage to warm the kernels up."])

    def _forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.inference_mode():
            out = self._model(**{k: v.to(self.device) for k, v in batch.items()})
        return out.start_logits.float().cpu(), out.end_logits.float().cpu()

    def read_pairs(self, questions: Sequence[str], contexts: Sequence[str]) -> list[list[Span]]:
        """Read each (question, context) pair; all windows go through batched forward passes."""
        self.warm_up()
        if not contexts:
            return []
        enc = encode_windows(self._tokenizer, questions, contexts, self.max_length, self.stride)
        lengths = [len(ids) for ids in enc["input_ids"]]
        per_pair: list[list[tuple[float, Span]]] = [[] for _ in contexts]
        for windows in length_batches(lengths, self.batch_size):
            batch = pad_batch(enc, windows, self._tokenizer.pad_token_id or 0, multiple=16)
            start, end = self._forward(batch)
            length = batch["input_ids"].shape[1]
            mask = torch.zeros((len(windows), length), dtype=torch.bool)
            for row, w in enumerate(windows):
                cm = context_mask(enc, w)
                mask[row, : len(cm)] = torch.tensor(cm)
            decoded = decode_windows(start, end, mask, self.max_answer_tokens, self.n_best)
            for row, w in enumerate(windows):
                pair = enc["overflow_to_sample_mapping"][w]
                offsets = enc["offset_mapping"][w]
                for ts in decoded[row]:
                    a, b = offsets[ts.start][0], offsets[ts.end][1]
                    text = contexts[pair][a:b]
                    per_pair[pair].append((ts.own, Span(pair, a, b, text, ts.probability)))
        # the most probable exact span first; its confidence covers its variants
        return [[sp for _, sp in sorted(spans, key=lambda x: -x[0])] for spans in per_pair]

    def read(self, question: str, contexts: Sequence[str]) -> list[Span]:
        per_pair = self.read_pairs([question] * len(contexts), contexts)
        spans = [sp for spans in per_pair for sp in spans]
        return sorted(spans, key=lambda sp: sp.confidence, reverse=True)


_CANDIDATE = re.compile(
    r"(?:[A-Z][\w'’-]*(?:[ \t]+(?:of|de|the|von|van)?[ \t]*[A-Z][\w'’-]*)*)"
    r"|(?:\d[\d,.:/]*(?:[ \t]+\w+)?)"
)


class LexicalReader:
    """A model-free reader: the capitalised phrase or number closest to the question's words.

    It is a fallback for installs without a span model and a floor for the
    trained reader, not a substitute for it; its confidences are rough.
    """

    threshold = 0.2
    model_name = "lexical"

    def warm_up(self) -> None:
        return None

    def read_pairs(self, questions: Sequence[str], contexts: Sequence[str]) -> list[list[Span]]:
        return [self.read(q, [c]) for q, c in zip(questions, contexts, strict=True)]

    @staticmethod
    def _type_fit(question: str, sentence: str, match: re.Match) -> float:
        """How well a candidate fits the question's wh-word (a place after "in/to", a number)."""
        q = question.lower()
        before = sentence[: match.start()].rstrip().lower()
        is_number = match.group()[0].isdigit()
        if q.startswith(("when", "how many", "how much", "what year")):
            return 0.9 if is_number else 0.3
        if q.startswith("where"):
            return 0.9 if before.endswith((" in", " to", " at", " from")) else 0.4
        return 0.5 if is_number else 0.8

    def read(self, question: str, contexts: Sequence[str]) -> list[Span]:
        q_words = {w.lower() for w in WORD.findall(question)} - STOPWORDS
        if not q_words:
            return []
        spans: list[Span] = []
        for c_idx, context in enumerate(contexts):
            best: Span | None = None
            for sentence in re.finditer(r"[^.!?]+[.!?]?", context):
                s_words = {w.lower() for w in WORD.findall(sentence.group())}
                overlap = len(q_words & s_words) / len(q_words)
                if overlap == 0:
                    continue
                for m in _CANDIDATE.finditer(sentence.group()):
                    words = {w.lower() for w in WORD.findall(m.group())}
                    if not words or words <= q_words | STOPWORDS:
                        continue
                    conf = (
                        overlap
                        * self._type_fit(question, sentence.group(), m)
                        * (0.5 if words & q_words else 1.0)
                    )
                    if best is None or conf > best.confidence:
                        start = sentence.start() + m.start()
                        text = m.group().rstrip(" ,.")
                        best = Span(c_idx, start, start + len(text), text, conf)
            if best is not None:
                spans.append(best)
        return sorted(spans, key=lambda sp: sp.confidence, reverse=True)


def load_reader(model: str, **kwargs) -> Reader:
    """The reader named by the settings: 'lexical', or a span model's name or path."""
    from rag.settings import PACKAGED_READER

    if model == "lexical":
        return LexicalReader()
    if Path(model) == PACKAGED_READER and not (PACKAGED_READER / "config.json").exists():
        return LexicalReader()  # a source checkout without the trained weights
    if not Path(model).exists() and (Path(model).is_absolute() or model.startswith(".")):
        raise FileNotFoundError(f"reader model not found: {model}")
    return TransformerReader(model, **kwargs)
