"""Benchmark commands about documents: every file type read and cited (``formats``), a
folder kept in sync (``sync``), a large file added through the page (``upload-page``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from benchmarks.cli import JsonOption, OutOption, app, bench_output, check_outputs
from rag.cli import clear_errors, fail


@app.command("formats")
def bench_formats(
    per_format: Annotated[int, typer.Option(min=1, help="Files made of each format.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the made-up facts.")] = 0,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    """Every file type, a question about each file: answered, and cited at the right
    page, slide, sheet and row, heading path or e-mail part?"""
    check_outputs(out)
    from benchmarks import formats

    with clear_errors():
        report = formats.run(per_format, seed)
    bench_output(report, formats.table(report), as_json, out)


@app.command("sync")
def bench_sync(
    files: Annotated[int, typer.Option(min=10, help="Small files in the folder.")] = 10_000,
    changes: Annotated[
        int, typer.Option(min=1, help="Files edited, shortened, deleted and renamed, each.")
    ] = 10,
    store: Annotated[list[str] | None, typer.Option(help="sqlite, milvus (repeat).")] = None,
    workdir: Annotated[Path | None, typer.Option(help="For the folders (default: temp).")] = None,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    """`rag sync` processes on a folder: first build, unchanged, mtimes touched, a few
    edits, shortenings, deletions and renames: seconds and passages embedded."""
    check_outputs(out, folder=workdir)
    from benchmarks import sync

    stores = tuple(store or ("sqlite",))
    if unknown := sorted(set(stores) - {"sqlite", "milvus"}):
        fail(f"--store {unknown[0]}: the stores are sqlite and milvus")
    if 4 * changes > files:
        fail(f"--changes {changes}: at most a quarter of --files")
    with clear_errors():
        report = sync.run(files, changes, stores, workdir)
    bench_output(report, sync.table(report), as_json, out)


@app.command("upload-page")
def bench_upload_page(
    megabytes: Annotated[float, typer.Option(min=0.01, help="Size of the uploaded file.")] = 5.0,
    restart: Annotated[
        str, typer.Option(help="Restart the server mid-job: kill, term or none.")
    ] = "kill",
    restart_at: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of the passages embedded then.")
    ] = 0.3,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    """A large file added through the chat page in Chromium: how soon the job is shown,
    its progress bar to the end (across a server restart), then a question about it."""
    check_outputs(out)
    if restart not in ("kill", "term", "none"):
        fail(f"--restart {restart}: kill, term or none")
    from benchmarks import upload_page

    with clear_errors():
        report = upload_page.run(megabytes, None if restart == "none" else restart, restart_at)
    bench_output(report, upload_page.table(report), as_json, out)
