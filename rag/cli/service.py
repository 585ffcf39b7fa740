"""`rag index`, `ask`, `documents`, `delete` and `serve`: the service from a shell."""

from __future__ import annotations

import json
import logging.config
import signal
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from rag.cli import cluster, options
from rag.cli.app import app, clear_errors, fail
from rag.core.locations import describe
from rag.core.settings import Settings, get_settings


@contextmanager
def _pipeline(settings: Settings | None = None):
    """A loaded pipeline, closed on exit (which saves the FAISS file if it lags)."""
    from rag.service.pipeline import Pipeline

    pipeline = Pipeline(settings)
    pipeline.load()
    try:
        yield pipeline
    finally:
        pipeline.close()


@contextmanager
def _existing_store():
    """The index of the settings, opened without loading any model (it records its
    dimension; the model's name is checked against it)."""
    from rag.retrieval.embedders import embedder_identity
    from rag.stores import index_exists, open_store, store_options

    settings = get_settings()
    if not index_exists(settings.index_dir, settings.store):
        fail(f"no index in {settings.index_dir}: run `rag index` first")
    identity = embedder_identity(settings)
    store, _ = open_store(
        settings.index_dir, model_id=identity, dimension=None, **store_options(settings)
    )
    try:
        yield store
    finally:
        store.close()


@app.command(cls=cluster.RayCommand)
def index(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: RAG_DOCS_DIR).")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Re-embed every stored document into a new index.")
    ] = False,
    collection: options.Collection = "default",
    metadata: options.Metadata = None,
    ray: cluster.RayAddress = None,
) -> None:
    """Add files to the index: text, Markdown, HTML, PDF (scans read by OCR), Office and
    OpenDocument files, EPUB, e-mail, RTF (docs/formats.md); unchanged files are skipped."""
    from rag.service.indexing import indexer_for
    from rag.service.rebuild import rebuild_index

    settings = get_settings()
    paths = paths or [settings.docs_dir]
    extra = options.checked_placement(collection, metadata)
    with clear_errors():
        for p in paths:
            if not p.exists():
                fail(f"{p}: no such file or folder")
        if ray is not None:  # read, parsed and embedded on a Ray cluster
            return cluster.index_on_ray(settings, paths, ray, rebuild, collection, extra)
        if rebuild:
            added = rebuild_index(settings, paths, collection=collection, metadata=extra)
            typer.echo(f"rebuilt {settings.index_dir}: {added} documents")
            return
        with indexer_for(settings) as indexer:
            results, errors = indexer.index_paths(
                paths, progress=True, collection=collection, metadata=extra
            )
            docs, chunks = indexer.store.counts()
        added = sum(created for _, created in results)
        cluster.print_summary(added, len(results) - added, errors, docs, chunks)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    top_k: Annotated[int | None, typer.Option(min=1, max=50, help="Passages to read.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
    collection: options.Collections = None,
    filter_text: options.Filter = None,
) -> None:
    """Answer a question from the index (of some collections, with a metadata filter)."""
    with clear_errors():
        chosen = options.selection_of(collection, filter_text)
    with clear_errors(), _pipeline() as pipeline:
        pipeline.ensure_index(progress=True)
        result = pipeline.ask(question, top_k, selection=chosen)
    if as_json:
        typer.echo(json.dumps(asdict(result), ensure_ascii=False, indent=2))
        return
    if result.answer is None:
        typer.echo(
            f"No answer in the documents (best guess below the threshold, "
            f"confidence {result.confidence:.2f})."
        )
    else:
        typer.echo(f"{result.answer}  (confidence {result.confidence:.2f})")
    sources = result.answers[0].sources if result.answer is not None else result.passages[:3]
    for c in sources:
        where = f" · {describe(c.location)}" if c.location else ""
        typer.echo(f"  - {c.title} [{c.doc_id} {c.start}:{c.end}]{where}")


@app.command()
def documents(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    collection: Annotated[
        str | None, typer.Option("--collection", help="Only this collection's documents.")
    ] = None,
) -> None:
    """List the indexed documents."""
    with clear_errors(), _existing_store() as store:
        docs = [asdict(d) for d in store.documents([collection] if collection else None)]
    if as_json:
        typer.echo(json.dumps({"documents": docs}, ensure_ascii=False, indent=2))
        return
    for d in docs:
        typer.echo(f"{d['doc_id']}\t{d['collection']}\t{d['chunks']} passages\t{d['title']}")


@app.command()
def delete(doc_id: Annotated[str, typer.Argument(help="Id of the document to remove.")]) -> None:
    """Remove a document from the index."""
    with clear_errors(), _existing_store() as store:
        if not store.delete(doc_id):
            fail(f"no document with id {doc_id!r}")
    typer.echo(f"deleted {doc_id}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    allow_insecure: Annotated[
        bool,
        typer.Option(
            help="Listen on a non-loopback address without any key (reads open to all; "
            "writes still only from this machine)."
        ),
    ] = False,
    watch: options.Watch = None,
    watch_collection: options.WatchCollection = None,
) -> None:
    """Run the HTTP API (builds the index from RAG_DOCS_DIR on first start)."""
    from api.origins import is_loopback  # light: a refusal comes before torch is imported
    from rag.cli.sync import check_folder, watched_collection, watching

    settings, watch = get_settings(), watch and check_folder(watch, "--watch")
    into = watched_collection(watch, watch_collection)
    if not is_loopback(host) and not allow_insecure and not _keys_guard(settings):
        fail(
            f"refusing to listen on {host} without a key: set RAG_API_KEY or make one with "
            "`rag keys create`, or pass --allow-insecure to let anyone who reaches this port "
            "ask questions"
        )
    from api.app import create_app
    from api.logs import log_config
    from api.server import serve as serve_app
    from rag.core.compute import bound_kernel_cache, keep_freed_memory
    from rag.service.pipeline import Pipeline

    if not settings.allowed_hosts and is_loopback(host):
        # a page on another site whose name resolves to 127.0.0.1 (DNS rebinding) sends
        # its own name as Host: only this machine's names are served
        names = ["localhost", "127.0.0.1", "::1", "[::1]", host]
        settings = settings.model_copy(update={"allowed_hosts": sorted(set(names))})
    logging.config.dictConfig(log_config())  # repairs found while opening are logged too
    bound_kernel_cache()
    keep_freed_memory()
    # SIGTERM and SIGINT end the service the same clean way: uvicorn stops serving, then
    # re-raises the signal, which lands here as SystemExit(0), and the store is closed
    # (vectors saved, WAL folded into the database) before the process exits with 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    pipeline = Pipeline(settings)
    try:
        with clear_errors():
            pipeline.load()
        # RAG_DOCS_DIR indexed on first start, or --watch kept in sync; on SIGTERM uploads
        # under way stop at once (parse killed, embedding cut at its next slice): a 503 each
        with watching(pipeline, watch, into) as stop_writes:
            serve_app(create_app(settings, pipeline), settings, host, port, stop_writes)
    finally:
        pipeline.close()
        if _signalled:
            _exit_now()


@app.command()
def mcp() -> None:
    """Serve the MCP tools (ask, search, get_document, add_document) over stdio, for an
    agent or chat client that starts this command (builds the index on first start)."""
    from api.logs import stderr_logging
    from api.mcp import create_mcp

    stderr_logging()  # stdout carries the protocol: progress and logs go to stderr
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    with clear_errors(), _pipeline() as pipeline:
        pipeline.ensure_index(progress=True)
        create_mcp(lambda: pipeline).run("stdio")


def _keys_guard(settings: Settings) -> bool:
    """Whether a key guards the service: RAG_API_KEY, or an active key of `rag keys`."""
    from rag.service.keys import KeyRing, default_keys_file

    if settings.api_key is not None:
        return True
    ring = KeyRing(default_keys_file(settings.index_dir, settings.keys_file))
    with clear_errors():
        return ring.any_active()


_signalled = False


def _exit_cleanly(signum: int, frame) -> None:
    global _signalled
    _signalled = True
    raise SystemExit(0)


def _exit_now() -> None:
    """Exit 0 without the interpreter's teardown: once the store is closed (vectors
    saved, WAL folded) nothing is left to do, yet unloading torch and the tokenizers
    took 1.3-2.6 s on 2 cores, most of the few seconds a SIGTERM may take."""
    import os
    import sys

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)


@app.command()
def migrate(
    to: Annotated[str, typer.Argument(help="The store to copy the index into: sqlite or milvus.")],
    index_dir: Annotated[
        Path | None, typer.Option(help="Its folder (default: RAG_INDEX_DIR).")
    ] = None,
    milvus_uri: Annotated[
        str | None,
        typer.Option(help="Its Milvus (default: RAG_MILVUS_URI, or a Milvus Lite file)."),
    ] = None,
) -> None:
    """Copy the index of RAG_STORE into another store: vectors (not re-embedded), feedback."""
    from rag.retrieval.embedders import embedder_identity
    from rag.stores import open_store, store_options
    from rag.stores.transfer import copy_index

    settings = get_settings()
    if to not in ("sqlite", "milvus"):
        fail(f"unknown store {to!r}: sqlite or milvus")
    if to == settings.store and index_dir is None and milvus_uri is None:
        fail(f"the index is already in {to}: give another --index-dir or --milvus-uri")
    options = store_options(settings)
    target_options = {
        **options,
        "backend": to,
        "milvus_uri": milvus_uri if milvus_uri is not None else settings.milvus_uri,
    }
    identity = embedder_identity(settings)
    with clear_errors(), _existing_store() as source:
        target, _ = open_store(
            index_dir if index_dir is not None else settings.index_dir,
            model_id=identity,
            dimension=source.dimension,
            **target_options,
        )
        try:
            copied = copy_index(source, target)
            docs, chunks = target.counts()
        finally:
            target.close()
    done = f"{copied.documents} documents ({copied.passages} passages), {copied.feedback} verdicts"
    typer.echo(f"copied {done} into {to}")
    typer.echo(f"{to} now holds {docs} documents, {chunks} passages")
