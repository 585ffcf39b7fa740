"""Crash durability: SIGKILL a real server in a stream of writes, restart it, and every
write it acknowledged is there and retrievable (on each store)."""

import pytest

from benchmarks import load as bench
from tests.api.seeded import BACKENDS


@pytest.mark.server
@pytest.mark.parametrize("store", BACKENDS)
def test_sigkill_during_a_stream_of_writes_loses_nothing_acknowledged(store):
    """`python -m benchmarks crash`. The servers read with the model-free reader: what is
    checked is what the store kept and retrieves (the passages of each answer), and the
    reader's model took half of each start and most of each question."""
    env = {"RAG_STORE": store, "RAG_READER_MODEL": "lexical"}
    report = bench.crash(writes_before_kill=15, env=env)
    assert report["writes_acknowledged"] >= 15
    assert report["acknowledged_found_after_restart"] == report["writes_acknowledged"]
    assert report["acknowledged_retrievable_after_restart"] == report["writes_acknowledged"]
    extra = report["documents_after_restart"] - report["writes_acknowledged"]
    assert extra in (0, 1), "nothing but the one write in flight may appear"
    assert report["chunks_equal_vectors"], "passages and vectors agree after the restart"
