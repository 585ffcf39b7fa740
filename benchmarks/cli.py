"""The ``python -m benchmarks`` application and what its commands share: output paths
checked before a benchmark spends minutes, the table or JSON printed, the JSON kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rag.cli import fail

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Benchmarks against real server processes (run from the repository root).",
)


def check_outputs(*files: Path | None, folder: Path | None = None) -> None:
    """Refuse unusable output paths before a benchmark spends minutes, not after."""
    if folder is not None and not folder.is_dir():
        fail(f"{folder}: no such folder")
    for f in files:
        if f is not None and not f.parent.is_dir():
            fail(f"{f}: its folder {f.parent} does not exist")


def bench_output(report: dict, table: str, as_json: bool, out: Path | None) -> None:
    """Print the table (or the JSON), and keep the JSON in ``out`` for the README."""
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        typer.echo(f"{table}\n\nmachine: {report['machine']}")


SquadOption = Annotated[
    Path | None, typer.Option(help="A SQuAD v1.1 file: benchmark on its paragraphs too.")
]
OutOption = Annotated[Path | None, typer.Option(help="Also write the JSON report to this file.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the JSON report.")]
