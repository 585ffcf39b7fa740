"""Seeded settings for the API tests' shared pipelines, and the backends they run on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.core.settings import Settings
from tests.support.paths import SEEDS

#: Every API test runs on both store backends.
BACKENDS = ["sqlite", pytest.param("milvus", marks=pytest.mark.milvus)]


def seeded_settings(workdir: Path, backend: str = "sqlite") -> Settings:
    """Settings over a fresh copy of the seeds in ``workdir`` (as the ``settings``
    fixture), on ``backend``."""
    docs = workdir / "docs"
    shutil.copytree(SEEDS, docs)
    settings = Settings(docs_dir=docs, index_dir=workdir / "index")
    return settings if backend == "sqlite" else settings.model_copy(update={"store": backend})
