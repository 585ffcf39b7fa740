"""The synthetic corpus of ``python -m benchmarks scale``: passages, their vectors and
the questions asked, shaped like a real corpus without embedding a million passages.

Source paragraphs (the seeds, plus SQuAD paragraphs when a file is given) are perturbed
into a pool of texts (a third of their words replaced by words of the corpus
vocabulary, drawn by frequency); every pool text is embedded by the real model. Passage
``i`` is a fresh perturbation of pool text ``i mod pool``; its vector is that pool
text's real vector when ``i`` < pool, otherwise the real vector plus seeded Gaussian
noise (cosine about 0.9 to it): the noisy copies keep the neighbourhood structure of
real embeddings, which uniform random vectors do not have. Questions are ten
consecutive words of a random passage.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import numpy as np

from benchmarks.common import seeds_dir, squad_corpus

_WORD = re.compile(r"\S+")
#: Noisy vectors made at a time (the memory of one batch).
NOISE_BATCH = 100_000


def source_paragraphs(squad: Path | None) -> list[str]:
    """The seeds' passages, and the paragraphs of ``squad`` when given."""
    from rag.documents.chunking import Chunker
    from rag.documents.ingest import read_file

    paragraphs = []
    for path in sorted(seeds_dir().glob("*.txt")):
        document = read_file(path)
        paragraphs += [c.text for c in Chunker().split(document)]
    if squad is not None:
        paragraphs += [text for _, text, _ in squad_corpus(squad, 100_000)]
    return paragraphs


class TextSynth:
    """Perturbed copies of source paragraphs, from a fixed seed."""

    def __init__(self, paragraphs: list[str], seed: int = 0, replace: float = 0.33) -> None:
        self.rng = np.random.default_rng(seed)
        self.replace = replace
        counts = collections.Counter(w for p in paragraphs for w in _WORD.findall(p))
        self.vocab = np.array(list(counts), dtype=object)
        freq = np.array(list(counts.values()), dtype=np.float64)
        self.cum = np.cumsum(freq / freq.sum())
        index = {w: i for i, w in enumerate(self.vocab)}
        self.sources = [
            np.array([index[w] for w in _WORD.findall(p)][:150], dtype=np.int64) for p in paragraphs
        ]

    def words(self, source: np.ndarray) -> np.ndarray:
        ids = source.copy()
        mask = self.rng.random(len(ids)) < self.replace
        ids[mask] = np.searchsorted(self.cum, self.rng.random(int(mask.sum())))
        return np.minimum(ids, len(self.vocab) - 1)

    def text(self, source: np.ndarray) -> str:
        return " ".join(self.vocab[self.words(source)])

    def pool(self, size: int) -> list[str]:
        """``size`` texts, one per source paragraph in turn (the ones to embed)."""
        return [self.text(self.sources[i % len(self.sources)]) for i in range(size)]


def noisy_copies(base: np.ndarray, rows: np.ndarray, rng, cosine: float = 0.9) -> np.ndarray:
    """Unit vectors at about ``cosine`` to the ``rows`` of ``base``."""
    dim = base.shape[1]
    sigma = np.sqrt((1 / cosine**2 - 1) / dim)
    out = base[rows] + rng.normal(scale=sigma, size=(len(rows), dim)).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float32)


def passages(
    n: int, synth: TextSynth, pool_texts: list[str], pool_vectors: np.ndarray, rng
) -> tuple[list[str], np.ndarray, str]:
    """``n`` passages and their vectors: the pool first, then perturbed texts with noisy
    copies of the pool's vectors; and a line saying which vectors are real."""
    pool = len(pool_texts)
    texts = [
        pool_texts[i] if i < pool else synth.text(synth.sources[i % len(synth.sources)])
        for i in range(n)
    ]
    if n <= pool:
        return texts, pool_vectors[:n], "all from the model"
    vectors = np.empty((n, pool_vectors.shape[1]), dtype=np.float32)
    vectors[:pool] = pool_vectors
    for lo in range(pool, n, NOISE_BATCH):
        rows = np.arange(lo, min(n, lo + NOISE_BATCH)) % pool
        vectors[lo : lo + len(rows)] = noisy_copies(pool_vectors, rows, rng)
    return texts, vectors, f"{pool} from the model, {n - pool} noisy copies of them (cosine 0.9)"


def questions(texts: list[str], count: int, rng) -> list[str]:
    """Ten consecutive words of each of ``count`` passages drawn at random (a lexical match
    that is not a copy of the passage)."""
    picks = rng.choice(len(texts), size=count, replace=False)
    asked = []
    for i in picks:
        words = texts[i].split()
        at = int(rng.integers(0, max(1, len(words) - 10)))
        asked.append(" ".join(words[at : at + 10]))
    return asked
