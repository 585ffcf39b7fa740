"""Fixtures shared by the service tests."""

from __future__ import annotations

import pytest

from rag.documents.chunking import Chunker
from tests.support.syncing import SyncIndex

#: The stores a sync is tested against.
BACKENDS = ["sqlite", pytest.param("milvus", marks=pytest.mark.milvus)]


@pytest.fixture(params=BACKENDS)
def index_at(request, tmp_path):
    """Makes indexes (folders under tmp_path) of the backend under test."""
    made: list[SyncIndex] = []

    def make(name: str = "index", chunker: Chunker | None = None) -> SyncIndex:
        made.append(SyncIndex(tmp_path / name, request.param, chunker))
        return made[-1]

    yield make
    for index in made:
        index.close()
