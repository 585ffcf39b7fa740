"""The CLI tests' index: a copy of the seeds in a folder of the test's own."""

import shutil

import pytest

from tests.support.paths import SEEDS


@pytest.fixture
def env(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    return {"RAG_DOCS_DIR": str(docs), "RAG_INDEX_DIR": str(tmp_path / "index")}
