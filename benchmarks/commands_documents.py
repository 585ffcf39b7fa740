"""Benchmark commands about documents: every file type read and cited (``formats``)."""

from __future__ import annotations

from typing import Annotated

import typer

from benchmarks.cli import JsonOption, OutOption, app, bench_output, check_outputs
from rag.cli import clear_errors


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
