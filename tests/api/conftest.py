"""Pipelines the API tests share. Indexing the seeds for every test, on each backend, was
most of these tests' time: tests that only read share one seeded pipeline per module
and backend; tests that write build their own (``service`` in test_api, or ``seeded``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rag.service.pipeline import Pipeline
from tests.api.seeded import BACKENDS, seeded_settings


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> str:
    """The store backend; module-scoped, so the tests of one backend run together."""
    return request.param


@pytest.fixture(scope="module")
def shared_service(backend, embedder, reader, tmp_path_factory) -> Iterator[Pipeline]:
    """The seeded pipeline on ``backend``, indexed once per module: for tests that only
    read (or whose writes are all refused)."""
    settings = seeded_settings(tmp_path_factory.mktemp(f"shared-{backend}"), backend)
    pipeline = Pipeline(settings, reader=reader, embedder=embedder)
    pipeline.load()
    assert pipeline.ensure_index() == 3
    yield pipeline
    pipeline.close()
