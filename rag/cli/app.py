"""The typer app every command registers on, and how expected errors become one line."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Retrieval-augmented extractive question answering.",
)


@app.callback()
def _root() -> None:
    """Retrieval-augmented extractive question answering."""


def fail(message: str, code: int = 1) -> None:
    """One clear line on stderr and a non-zero exit, never a traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def clear_errors():
    """Turn the library's expected errors into one line and exit code 1."""
    from rag.core.errors import IngestError, QuestionError, SquadError, StoreError, TargetsError

    try:
        yield
    except (
        IngestError,
        QuestionError,
        StoreError,
        SquadError,
        TargetsError,
        FileNotFoundError,
        PermissionError,
    ) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))


def main() -> None:  # pragma: no cover - entry point
    from pydantic import ValidationError

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        typer.echo(f"error: {settings_error(exc)}", err=True)
        sys.exit(1)


def settings_error(exc) -> str:
    """A ``RAG_*`` variable that does not parse, in one line: its name, why, what it was."""
    first = exc.errors()[0]
    name = "RAG_" + "_".join(str(part) for part in first["loc"]).upper()
    return f"{name}={first.get('input')!s}: {first['msg']}"


def print_report(report: dict, as_json: bool) -> None:
    """A report as one JSON line, or one aligned ``key  value`` line per entry."""
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    for key, value in report.items():
        typer.echo(f"{key:>38}  {value}")
