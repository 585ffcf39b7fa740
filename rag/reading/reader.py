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
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from rag.core.text import STOPWORDS, WORD
from rag.reading.decoding import decode_windows
from rag.reading.windows import context_mask, encode_windows, length_batches, pad_batch

#: Confidence threshold used when neither the settings nor the model say otherwise.
DEFAULT_THRESHOLD = 0.3
READER_CONFIG = "reader_config.json"


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

        from rag.core.settings import offline_and_quiet

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
    from rag.core.settings import PACKAGED_READER

    if model == "lexical":
        return LexicalReader()
    if Path(model) == PACKAGED_READER and not (PACKAGED_READER / "config.json").exists():
        return LexicalReader()  # a source checkout without the trained weights
    if not Path(model).exists() and (Path(model).is_absolute() or model.startswith(".")):
        raise FileNotFoundError(f"reader model not found: {model}")
    return TransformerReader(model, **kwargs)
