"""The int8 embedder against fp32, the embedder an index records, and the refusal of an
index made by the other one (rag.retrieval.embedders, rag.core.embedders)."""

from pathlib import Path

import numpy as np
import pytest

from rag.core.embedders import PACKAGED_IDENTITY
from rag.core.errors import IndexMismatchError, StoreError
from rag.core.settings import Settings
from rag.retrieval.embedders import embedder_for, embedder_identity, embedder_kind
from rag.retrieval.onnx_build import int8_model
from rag.stores import open_store, recorded_model
from tests.support.cli import one_error_line, rag

INT8 = PACKAGED_IDENTITY + "#int8-onnx"
TEXTS = [
    "Where was Kim invited?",
    "Who is the Russian foreign minister?",
    "Sergei Lavrov invited Kim Jong Un to visit Moscow at a meeting in Pyongyang.",
    "Mount Kilimanjaro, a dormant volcano in Tanzania, is the highest mountain in Africa.",
    "  The 1998 World Cup was won by France, who beat Brazil 3-0 in the final.  ",
]


@pytest.fixture(scope="session")
def int8_embedder():
    """Built once per machine into the default cache (about 15 s the first time), as the
    command line and the server find it."""
    settings = Settings(embedder="int8")
    embedder = embedder_for(settings)
    embedder.warm_up()
    return embedder


def _index(tmp_path, identity: str):
    """An empty index recording ``identity`` (no model needed)."""
    store, _ = open_store(tmp_path / "index", model_id=identity, dimension=384)
    store.close()
    return Settings(index_dir=tmp_path / "index")


@pytest.mark.model
def test_int8_is_close_to_fp32_and_records_another_identity(int8_embedder, embedder):
    fast, reference = int8_embedder.embed(TEXTS), embedder.embed(TEXTS)
    assert fast.dtype == np.float32 and fast.shape == reference.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert ((fast * reference).sum(axis=1) > 0.98).all()
    question = int8_embedder.embed_query(TEXTS[0])
    assert np.allclose(question, fast[0], atol=1e-5)  # questions embed as passages do
    assert int8_embedder.identity == INT8 != embedder.identity == PACKAGED_IDENTITY


@pytest.mark.model
def test_the_build_is_kept_and_reused(int8_embedder):
    """The second use finds the file the first one built: nothing is built again."""
    model = Path(int8_embedder.model_name)
    built = int8_model(model, int8_embedder.cache_dir)
    assert built.is_file() and built.stat().st_size < 30 * 2**20
    before = built.stat().st_mtime_ns
    assert int8_model(model, int8_embedder.cache_dir) == built
    assert built.stat().st_mtime_ns == before


@pytest.mark.model
def test_reindex_moves_an_fp32_index_to_int8(int8_embedder, embedder, tmp_path):
    """`rag reindex` (here its library call) re-embeds what an fp32 index holds with the
    default embedder; the documents stay and the index then records int8."""
    from rag.documents.chunking import Chunker
    from rag.documents.ingest import make_document
    from rag.service.indexing import Indexer
    from rag.service.rebuild import rebuild_index

    settings = Settings(index_dir=tmp_path / "index", cache_dir=int8_embedder.cache_dir)
    store, _ = open_store(settings.index_dir, model_id=embedder.identity, dimension=384)
    Indexer(store, embedder, Chunker()).add_documents([make_document(TEXTS[2], title="Kim")])
    store.close()
    assert rebuild_index(settings) == 1
    assert recorded_model(settings) == INT8 and embedder_kind(settings) == "int8"
    store, _ = open_store(settings.index_dir, model_id=INT8, dimension=384)
    try:
        hits = store.search_dense(int8_embedder.embed_query(TEXTS[0]), 1)
        assert store.counts() == (1, 1) and len(hits) == 1
    finally:
        store.close()


def test_auto_embeds_with_what_the_index_records(tmp_path):
    """An index built before int8 existed keeps its fp32 embedder; a new one gets int8."""
    assert embedder_kind(Settings(index_dir=tmp_path / "new")) == "int8"
    old = _index(tmp_path / "old", PACKAGED_IDENTITY)
    assert recorded_model(old) == PACKAGED_IDENTITY
    assert embedder_kind(old) == "fp32" and embedder_identity(old) == PACKAGED_IDENTITY
    assert type(embedder_for(old)).__name__ == "Embedder"
    assert embedder_kind(old, new_index=True) == "int8"  # what `rag reindex` builds
    made = _index(tmp_path / "made", INT8)
    assert embedder_kind(made) == "int8" and embedder_identity(made) == INT8
    chosen = Settings(index_dir=tmp_path / "made" / "index", embedder="fp32")
    assert embedder_kind(chosen) == "fp32" and embedder_for(chosen).identity == PACKAGED_IDENTITY


def test_an_index_of_the_other_embedder_is_refused_with_the_fix(tmp_path):
    settings = _index(tmp_path, PACKAGED_IDENTITY)
    with pytest.raises(IndexMismatchError) as caught:
        open_store(settings.index_dir, model_id=INT8, dimension=384)
    message = str(caught.value)
    assert "embedded by the fp32 embedder, not int8" in message
    assert "RAG_EMBEDDER=fp32" in message and "`rag reindex`" in message


def test_int8_of_another_model_is_refused(tmp_path):
    other = Settings(index_dir=tmp_path, embedding_model=str(tmp_path), embedder="int8")
    with pytest.raises(StoreError, match="RAG_EMBEDDER=int8 is built from the packaged"):
        embedder_kind(other)
    assert embedder_kind(other.model_copy(update={"embedder": "auto"})) == "fp32"


def test_an_unwritable_cache_says_what_to_set(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings = Settings(embedder="int8", cache_dir=blocker / "cache")
    with pytest.raises(StoreError, match="set RAG_CACHE_DIR to a writable folder"):
        embedder_for(settings).warm_up()


def test_the_command_line_refuses_a_mismatch_in_one_line(tmp_path):
    """`rag documents` with RAG_EMBEDDER=int8 on an fp32 index: the fix, no traceback."""
    settings = _index(tmp_path, PACKAGED_IDENTITY)
    env = {"RAG_INDEX_DIR": str(settings.index_dir), "RAG_EMBEDDER": "int8"}
    line = one_error_line(rag("documents", env=env))
    assert "RAG_EMBEDDER=fp32" in line and "rag reindex" in line
    line = one_error_line(rag("documents", env={**env, "RAG_EMBEDDER": "bf8"}))
    assert "RAG_EMBEDDER" in line


@pytest.mark.milvus
def test_auto_reads_what_a_milvus_index_records(tmp_path):
    from rag.stores import store_options

    settings = Settings(index_dir=tmp_path, store="milvus")
    assert recorded_model(settings) is None and embedder_kind(settings) == "int8"
    store, _ = open_store(
        tmp_path, model_id=PACKAGED_IDENTITY, dimension=384, **store_options(settings)
    )
    store.close()
    assert recorded_model(settings) == PACKAGED_IDENTITY and embedder_kind(settings) == "fp32"
