"""Shared fixtures. Models are loaded once per session and shared by every pipeline."""

from __future__ import annotations

import shutil

import pytest

from tests.support.paths import FIXTURES, ROOT, SEEDS  # noqa: F401


@pytest.fixture(scope="session")
def embedder():
    from rag.core.settings import packaged_embedding_model
    from rag.retrieval.embedding import Embedder

    e = Embedder(packaged_embedding_model())
    e.warm_up()
    return e


@pytest.fixture(scope="session")
def reader():
    from rag.reading.loading import load_reader

    r = load_reader("fast")
    r.warm_up()
    return r


@pytest.fixture
def settings(tmp_path):
    from rag.core.settings import Settings

    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    return Settings(docs_dir=docs, index_dir=tmp_path / "index")


@pytest.fixture
def make_pipeline(embedder, reader):
    """Pipelines over real models, real FAISS and a real SQLite file in tmp_path."""
    from rag.service.pipeline import Pipeline

    made = []

    def make(settings):
        p = Pipeline(settings, reader=reader, embedder=embedder)
        p.load()
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


@pytest.fixture
def seeded(settings, make_pipeline):
    pipeline = make_pipeline(settings)
    assert pipeline.ensure_index() == 3
    return pipeline
