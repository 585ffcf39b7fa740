"""``rag reindex``: every stored document embedded again into a new store, swapped in
when complete (:mod:`rag.service.rebuild`; ``rag index --rebuild`` does the same and stays)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rag.cli.app import app, clear_errors, fail
from rag.core.settings import get_settings


@app.command()
def reindex(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders to add as well.")
    ] = None,
) -> None:
    """Re-embed the index with the embedder of the settings (RAG_EMBEDDER; auto: int8),
    after changing it, the model or the chunking; keys, jobs, feedback and the sync
    manifest stay. Stop the server first (it refuses to start during a rebuild); an
    interrupted rebuild leaves the index as it was. SQLite or Milvus Lite."""
    from rag.retrieval.embedders import embedder_kind
    from rag.service.rebuild import rebuild_index
    from rag.stores import index_exists, recorded_model

    settings = get_settings()
    with clear_errors():
        for p in paths or []:
            if not p.exists():
                fail(f"{p}: no such file or folder")
        milvus = settings.store == "milvus"  # its index is where its settings say
        stored = recorded_model(settings) if milvus else index_exists(settings.index_dir)
        if not paths and not stored:
            fail(f"no index in {settings.index_dir} to re-embed: `rag index` builds one")
        kind = embedder_kind(settings, new_index=True)
        added = rebuild_index(settings, paths or [])
    typer.echo(f"re-embedded {settings.index_dir} with the {kind} embedder: {added} documents")
