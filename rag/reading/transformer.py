"""The span-model reader: a SQuAD-style model (``AutoModelForQuestionAnswering``) read
in token windows, with our own decoding of start/end logits into spans.

Usage::

    from rag.reading import TransformerReader

    reader = TransformerReader("rag/models/reader")
    reader.warm_up()
    best = reader.read("Where was Kim invited?", ["Putin invited Kim Jong Un to Moscow."])[0]
    print(best.text, round(best.confidence, 2))  # Moscow 1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from rag.reading.base import DEFAULT_THRESHOLD, Span, read_reader_config
from rag.reading.decoding import decode_windows
from rag.reading.windows import context_mask, encode_windows, length_batches, pad_batch


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
        name: str | None = None,
    ) -> None:
        self.location = str(model)
        #: what /health, /ask and ``rag eval`` report: a packaged reader's name, else its path
        self.model_name = name if name is not None else str(model)
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
        self._tokenizer = AutoTokenizer.from_pretrained(self.location)
        model = AutoModelForQuestionAnswering.from_pretrained(self.location, dtype=torch.float32)
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
