"""An embedder without a model, for tests that count what is embedded or run many
processes (a real model takes seconds to load in each): hashed bag-of-words vectors,
deterministic, so that a text embedded twice gets the same vector bit for bit and dense
search still finds passages that share a question's words."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence

import numpy as np

from rag.retrieval.embedding import Embedder

_WORD = re.compile(r"\w+")


class HashEmbedder(Embedder):
    """Counts the texts it embeds (``embedded``); ``delay`` seconds per text make a sync
    last long enough to be interrupted at many points."""

    def __init__(self, dimension: int = 64, delay: float = 0.0) -> None:
        super().__init__("hash-embedder")
        self._dimension = dimension
        self.delay = delay
        self.embedded: list[str] = []

    def warm_up(self) -> None:
        return None

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += list(texts)
        if self.delay:
            time.sleep(self.delay * len(texts))
        return self.embed_queries(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self.embed_query(text)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        vector = np.zeros(self._dimension, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest())
            vector[digest % self._dimension] += 1.0 if digest & (1 << 40) else -1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0:
            vector[0], norm = 1.0, 1.0
        return vector / norm
