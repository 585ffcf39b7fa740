"""The int8 embedder: all-MiniLM-L6-v2 quantised, run by ONNX Runtime, for passages and
questions alike.

It computes what sentence-transformers computes (the same tokens, mean pooling over the
attention mask, unit length) with int8 weights: about 3x the passages per second of fp32
on 2 cores, cosine 0.995 to the fp32 vectors (docs/performance.md, "Faster embedding").
Neither torch nor sentence-transformers is imported, which also saves the command line
about 4 s of start-up; only the one-time build (:mod:`rag.retrieval.onnx_build`) needs
torch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from rag.core.embedders import PACKAGED_IDENTITY, identity
from rag.retrieval.embedding import Embedder
from rag.retrieval.onnx_build import int8_model

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxEmbedder(Embedder):
    """Normalised float32 embeddings from the int8 model built in ``cache_dir``."""

    kind = "int8"

    def __init__(
        self,
        model: str,
        cache_dir: Path,
        *,
        threads: int | None = None,
        batch_size: int = 1,
        cache_size: int = 1024,
    ) -> None:
        """``batch_size`` 1: dynamic quantisation scales activations per run, so in a
        batch a text's vector would depend on its batch-mates (cosine 0.99 between the
        two); alone it is always the same, and with no padding to compute, one text a
        run is as fast as batches of 16 on 2 cores. ``threads`` texts run at once, each
        on one core: 97 passages/s on 2 cores against 77 with both cores on each text
        (whose many small operations wait for each other; docs/performance.md)."""
        super().__init__(model, batch_size=batch_size, cache_size=cache_size)
        self.identity = identity(PACKAGED_IDENTITY, self.kind)
        self.cache_dir = cache_dir
        self.threads = threads
        self._tokenizer = None
        self._dimension = 0
        self._pool: ThreadPoolExecutor | None = None

    def warm_up(self) -> None:
        """Build the model file if this machine has none yet, then load it."""
        if self._model is not None:
            return
        import onnxruntime
        from tokenizers import Tokenizer

        folder = Path(self.model_name)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # each run on its caller's thread: nothing spins
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(self.model_file(folder)),
            options,
            providers=["CPUExecutionProvider"],
        )
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=_max_length(folder))
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        self._dimension = int(json.loads((folder / "config.json").read_text())["hidden_size"])
        self._model = session
        workers = self.threads or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="int8-embedder")
        self.embed(["warm up"])

    def model_file(self, folder: Path) -> Path:
        """The ONNX file run: the int8 build of ``folder`` (made once if missing). The
        embedders benchmark runs other builds through this class by overriding it."""
        return int8_model(folder, self.cache_dir)

    @property
    def dimension(self) -> int:
        self.warm_up()
        return self._dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts``, :attr:`batch_size` a run, runs on the threads of the
        pool (ONNX Runtime lets go of the GIL while it computes)."""
        self.warm_up()
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        starts = range(0, len(texts), self.batch_size)
        if len(starts) == 1:
            return self._forward(texts)
        parts = self._pool.map(lambda lo: self._forward(texts[lo : lo + self.batch_size]), starts)
        for lo, vectors in zip(starts, parts, strict=True):
            out[lo : lo + len(vectors)] = vectors
        return out

    def _encode_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def _forward(self, texts: Sequence[str]) -> np.ndarray:
        """One batch: tokens (stripped, as sentence-transformers does), the model, the
        mean of the hidden states under the mask, unit length."""
        encodings = self._tokenizer.encode_batch([t.strip() for t in texts])
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        (hidden,) = self._model.run(None, feeds)
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _max_length(folder: Path) -> int:
    """The model's sequence length as sentence-transformers configures it (256 for
    all-MiniLM-L6-v2; the tokenizer file itself says 128)."""
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length", 256))
    return 256
