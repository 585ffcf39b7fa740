"""`rag sync DIR`: make the index match a folder (:mod:`rag.service.sync`), and what
``rag serve --watch DIR`` runs beside the server (:mod:`rag.service.watch`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from rag.cli import options
from rag.cli.app import app, clear_errors, fail
from rag.core.settings import get_settings


def check_folder(folder: Path, option: str = "") -> Path:
    """A folder to sync, or one error line and exit 1 (before any model loads)."""
    named = f"{option} {folder}" if option else str(folder)
    if not folder.exists():
        fail(f"{named}: no such folder")
    if not folder.is_dir():
        fail(f"{named}: not a folder")
    return folder


@app.command()
def sync(
    folder: Annotated[Path, typer.Argument(help="The folder the index should match.")],
    collection: options.Collection = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    allow_empty: Annotated[
        bool,
        typer.Option(help="Remove everything synced from the folder when it holds no files."),
    ] = False,
) -> None:
    """Make the index match a folder: new files added, changed ones replaced, deleted ones
    removed, renamed ones moved (unchanged passages keep their vectors). A folder found
    empty is refused unless --allow-empty (an unmounted drive looks empty)."""
    from rag.service.watch import summary, sync_folder

    options.checked_placement(collection, None)
    check_folder(folder)
    with clear_errors():
        report = sync_folder(
            get_settings(), folder, collection, progress=not as_json, allow_empty=allow_empty
        )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        for failure in report.failed:
            typer.echo(f"error: {failure['file']}: {failure['detail']}", err=True)
        typer.echo(summary(report))
    if report.failed:
        raise typer.Exit(1)


def watched_collection(folder: Path | None, collection: str | None) -> str:
    """``--watch-collection``, checked (one error line and exit 1 before anything opens):
    it needs ``--watch``, and a valid name."""
    if collection is None:
        return "default"
    if folder is None:
        fail("--watch-collection: it names the collection of --watch DIR, which is missing")
    options.checked_placement(collection, None)
    return collection


@contextmanager
def watching(
    pipeline, folder: Path | None, collection: str = "default"
) -> Iterator[Callable[[], None]]:
    """While serving: a watch of ``folder`` syncing into ``collection`` (its first sync
    builds the index), else RAG_DOCS_DIR indexed if the index is empty; yields what stops
    the writes on SIGTERM (the watch, then the pipeline's)."""
    from rag.service.watch import FolderWatch

    if folder is None:
        with clear_errors():
            pipeline.ensure_index(progress=True)
        yield pipeline.stop_writes
        return
    watch = FolderWatch(pipeline.indexer, pipeline.settings.index_dir, folder, collection)
    watch.start()

    def stop() -> None:
        watch.stop()
        pipeline.stop_writes()

    try:
        yield stop
    finally:
        watch.stop()
