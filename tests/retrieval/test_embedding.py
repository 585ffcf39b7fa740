"""The packaged embedding model through rag.retrieval.embedding."""

import numpy as np
import pytest


@pytest.mark.model
def test_a_question_embeds_as_encode_would(embedder):
    """The single-question fast path equals sentence-transformers' encode()."""
    question = "Who met Kim Jong Un in Pyongyang?"
    fast = embedder._encode_one(question)
    batch = embedder.embed([question, "Sergei Lavrov met Kim Jong Un."])[0]
    assert fast.dtype == np.float32 and fast.shape == batch.shape
    assert np.allclose(fast, batch, atol=1e-5)
    assert np.linalg.norm(fast) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.model
def test_repeated_questions_come_from_the_cache(embedder):
    first = embedder.embed_query("Where was Kim invited?")
    assert embedder.embed_query("Where was Kim invited?") is first
