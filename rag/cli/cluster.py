"""``rag index DIR --ray [ADDRESS]``: the index command's files indexed on a Ray cluster
(:mod:`rag.service.cluster`); Ray is imported only when ``--ray`` is given."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

from rag.cli.app import fail
from rag.core.settings import Settings

#: ``--ray`` alone: a new local Ray instance (Ray's own name for one).
LOCAL = "local"

RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="[ADDRESS]",
        help="Read, parse and embed on a Ray cluster (the cluster extra): --ray alone "
        "starts a local one, --ray ADDRESS (host:port, auto) joins one; give it after the "
        "folders (docs/cluster.md).",
    ),
]


class RayCommand(TyperCommand):
    """A command whose ``--ray`` may come without its value (then :data:`LOCAL`): the
    option parser typer ships has no optional values, so the missing one is put in."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        args = list(args)
        for i, arg in enumerate(args):
            if arg == "--":
                break
            if arg == "--ray" and (i + 1 == len(args) or args[i + 1].startswith("-")):
                args.insert(i + 1, LOCAL)
                break
        return super().parse_args(ctx, args)


def index_on_ray(
    settings: Settings,
    paths: list[Path],
    address: str,
    rebuild: bool,
    collection: str,
    metadata: dict | None,
) -> None:
    """``rag index`` on Ray: the same index, the same summary line and exit status."""
    from rag.service.cluster import ClusterError, ClusterIndexer, connected, import_ray
    from rag.service.indexing import indexer_for

    if rebuild:
        fail("--rebuild runs without --ray")
    if address != LOCAL and Path(address).exists():
        fail(f"--ray {address}: a folder, not an address: give the folders before --ray")
    try:
        import_ray()  # before any model loads: without the extra, one line at once
        with connected(None if address == LOCAL else address), indexer_for(settings) as indexer:
            report = ClusterIndexer(indexer, settings).index_paths(
                paths, collection=collection, metadata=metadata, bar=True
            )
            docs, chunks = indexer.store.counts()
    except ClusterError as exc:
        fail(str(exc))
    ray = (
        f" (Ray: {report.workers} workers, {report.passages} passages embedded "
        f"in {report.seconds:.1f} s)"
    )
    print_summary(report.added, report.unchanged, report.errors, docs, chunks, ray)


def print_summary(
    added: int, unchanged: int, errors: list[str], docs: int, chunks: int, extra: str = ""
) -> None:
    """What ``rag index`` prints, with Ray or without: a line per failed file, the counts
    (``extra`` after them), and exit 1 when a file failed."""
    for error in errors:
        typer.echo(f"error: {error}", err=True)
    typer.echo(
        f"{added} added, {unchanged} unchanged, {len(errors)} skipped; "
        f"index: {docs} documents, {chunks} passages{extra}"
    )
    if errors:
        raise typer.Exit(1)
