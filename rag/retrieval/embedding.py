"""Dense embeddings with sentence-transformers, loaded once, never from a hub at run time."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from threading import Lock

import numpy as np

from rag.core.embedders import PACKAGED_IDENTITY
from rag.core.settings import offline_and_quiet, packaged_embedding_model


def model_identity(model: str) -> str:
    """A name for the model that does not depend on where it is installed.

    The index records it so that a different model is refused, while the same
    packaged model in another virtual environment is accepted.
    """
    if Path(model).resolve() == Path(packaged_embedding_model()).resolve():
        return PACKAGED_IDENTITY
    return model


class Embedder:
    """Normalised float32 embeddings (inner product = cosine similarity), by
    sentence-transformers in fp32: the reference embedder (``RAG_EMBEDDER=fp32``)."""

    #: Which embedder this is (:data:`rag.core.embedders.MARKS`).
    kind = "fp32"

    def __init__(self, model: str, *, batch_size: int = 32, cache_size: int = 1024) -> None:
        self.model_name = model
        self.identity = model_identity(model)
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._model = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = Lock()

    def warm_up(self) -> None:
        if self._model is not None:
            return
        offline_and_quiet()
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(self.model_name, device="cpu")
        self._model.encode(["warm up"], normalize_embeddings=True)

    @property
    def dimension(self) -> int:
        self.warm_up()
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        return int(get_dim())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of many texts.

        Texts go to sentence-transformers in blocks of many batches: it sorts a
        block by length before batching, so long blocks waste less on padding.
        """
        self.warm_up()
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        block = self.batch_size * 32
        for lo in range(0, len(texts), block):
            part = list(texts[lo : lo + block])
            out[lo : lo + len(part)] = self._model.encode(
                part,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
            )
        return out

    def _encode_one(self, text: str) -> np.ndarray:
        """One text through the model's modules directly: ``encode()`` spends a few
        milliseconds on batching machinery that a single question does not need."""
        import torch

        self.warm_up()
        with torch.inference_mode():
            # sentence-transformers 6 renamed tokenize() to preprocess() (the old name warns).
            prepare = getattr(self._model, "preprocess", None) or self._model.tokenize
            features = prepare([text])
            vector = self._model(features)["sentence_embedding"]
            vector = torch.nn.functional.normalize(vector.float(), dim=-1)
        return vector[0].numpy().astype(np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Several questions at once (concurrent requests): cached ones are not recomputed,
        the others go through one batched forward pass."""
        if len(texts) == 1:
            return self.embed_query(texts[0])[None, :]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing = []
        with self._lock:
            for i, text in enumerate(texts):
                hit = self._cache.get(text)
                if hit is None:
                    missing.append(i)
                else:
                    out[i] = hit
        if missing:
            vectors = self.embed([texts[i] for i in missing])
            for i, vector in zip(missing, vectors, strict=True):
                out[i] = vector
                self._remember(texts[i], vector)
        return out

    def _remember(self, text: str, vector: np.ndarray) -> None:
        if self.cache_size == 0:
            return
        with self._lock:
            self._cache[text] = vector
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def embed_query(self, text: str) -> np.ndarray:
        """One question's embedding; repeated questions come from a small LRU cache."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector = self._encode_one(text)
        self._remember(text, vector)
        return vector
