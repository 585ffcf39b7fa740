"""Which embedder a process uses: ``RAG_EMBEDDER``, and for ``auto`` the one the index
records.

``auto`` (the default) lets an index built before the int8 embedder existed keep working
after an upgrade: it opens with the fp32 embedder it records, and a new index gets int8.
Naming an embedder the index does not record is refused when the index is opened, with
the fix (:func:`rag.core.embedders.mismatch_advice`); ``rag reindex`` re-embeds an index
with the embedder of the settings (``auto``: int8).
"""

from __future__ import annotations

from rag.core.embedders import DEFAULT_KIND, MARKS, PACKAGED_IDENTITY, identity, kind_of
from rag.core.errors import StoreError
from rag.core.settings import Settings
from rag.retrieval.embedding import Embedder, model_identity
from rag.stores import recorded_model


def embedder_kind(settings: Settings, new_index: bool = False) -> str:
    """fp32 or int8 for ``settings``; ``new_index``: for an index about to be built
    (``rag reindex``), whatever the current one records."""
    packaged = model_identity(settings.embedding_model) == PACKAGED_IDENTITY
    if settings.embedder != "auto":
        if settings.embedder != "fp32" and not packaged:
            raise StoreError(
                f"RAG_EMBEDDER={settings.embedder} is built from the packaged all-MiniLM-L6-v2 "
                f"only, not {settings.embedding_model}: set RAG_EMBEDDER=fp32"
            )
        return settings.embedder
    if not packaged:
        return "fp32"
    recorded = None if new_index else recorded_model(settings)
    if recorded is not None:
        model, kind = kind_of(recorded)
        if model == PACKAGED_IDENTITY and kind in MARKS:
            return kind
    return DEFAULT_KIND


def embedder_identity(settings: Settings) -> str:
    """The identity the settings' embedder records, without loading any model (for the
    commands that only read an index)."""
    model = model_identity(settings.embedding_model)
    kind = embedder_kind(settings)
    return identity(model, kind) if model == PACKAGED_IDENTITY else model


def embedder_for(
    settings: Settings, *, cache_size: int | None = None, new_index: bool = False
) -> Embedder:
    """The embedder of ``settings`` (not loaded yet: ``warm_up`` loads it, building the
    int8 model on its first use on this machine)."""
    size = settings.query_cache_size if cache_size is None else cache_size
    if embedder_kind(settings, new_index) == "int8":
        from rag.retrieval.onnx_embedding import OnnxEmbedder

        return OnnxEmbedder(
            settings.embedding_model, settings.cache_dir, threads=settings.threads, cache_size=size
        )
    return Embedder(settings.embedding_model, cache_size=size)
