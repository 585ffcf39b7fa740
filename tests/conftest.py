"""Shared fixtures. Models are loaded once per session and shared by every pipeline."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from tests.support.paths import FIXTURES, ROOT, SEEDS  # noqa: F401

#: The slowest modules (seconds of a run on a loaded 2-core machine, late 2026), handed
#: to the xdist workers first. A worker takes whole modules (--dist loadscope) in the
#: order below (scripts/test.sh passes --no-loadscope-reorder): xdist's own order, most
#: tests first, left these few-test modules to the end, where one worker finished them
#: alone for up to 50 s. Other modules follow, most tests first, as xdist would order
#: them. Refresh from ``--durations=0`` when a module grows slow.
SLOWEST_MODULES = (
    "benchmarks/test_bench.py",  # 90
    "api/test_page.py",  # 80
    "api/test_contract.py",  # 60
    "api/test_server.py",  # 60
    "api/test_attacks.py",  # 55
    "api/test_hostile.py",  # 55
    "service/test_cluster.py",  # 50
    "api/test_mcp.py",  # 45
    "api/test_crash.py",  # 45
    "service/test_sync_crash.py",  # 45
    "api/test_page_jobs.py",  # 35
    "training/test_training.py",  # 35
    "api/test_page_collections.py",  # 30
    "cli/test_sync.py",  # 30
    "service/test_jobs.py",  # 30
    "service/test_pipeline_concurrency.py",  # 25
    "api/test_jobs_restart.py",  # 20
)


@pytest.hookimpl(trylast=True)  # after pytest has grouped the items by fixture
def pytest_collection_modifyitems(items):
    """The slowest modules first, then the others, most tests first (each module's
    items together and in their order)."""
    rank = {f"tests/{module}": i for i, module in enumerate(SLOWEST_MODULES)}
    tests = Counter(item.nodeid.split("::")[0] for item in items)

    def order(item) -> tuple:
        module = item.nodeid.split("::")[0]
        return rank.get(module, len(rank)), -tests[module], module

    items.sort(key=order)


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
