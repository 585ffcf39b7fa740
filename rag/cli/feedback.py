"""`rag feedback list` and `rag feedback export`: users' verdicts on answers (given on the
page or with POST /feedback), for review and as training data."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.app import app, clear_errors, fail
from rag.cli.service import _existing_store

feedback_app = typer.Typer(
    no_args_is_help=True, help="Users' feedback on answers: list it, export it for training."
)
app.add_typer(feedback_app, name="feedback")


@feedback_app.command("list")
def list_feedback(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every verdict given, oldest first."""
    with clear_errors(), _existing_store() as store:
        entries = [asdict(f) for f in store.feedback()]
    if as_json:
        typer.echo(json.dumps({"feedback": entries}, ensure_ascii=False, indent=2))
        return
    for f in entries:
        span = f"{f['doc_id']}[{f['start']}:{f['end']}] {f['text']!r}" if f["doc_id"] else "-"
        typer.echo(f"{f['created_at']}\t{f['verdict']}\t{f['resolved_question']}\t{span}")


@feedback_app.command("export")
def export(
    out: Annotated[Path, typer.Argument(help="The SQuAD v2.0 JSON file to write.")],
) -> None:
    """Write the feedback as SQuAD v2.0 (confirmed and corrected spans in their passages,
    "not in the documents" as unanswerable) for `rag train-reader --init … OUT.json`."""
    from rag.core.settings import get_settings
    from rag.reading.lexical import LexicalReader
    from rag.service.pipeline import Pipeline
    from rag.stores import index_exists
    from rag.training.feedback import export_feedback

    settings = get_settings()
    if not index_exists(settings.index_dir, settings.store):
        fail(f"no index in {settings.index_dir}: run `rag index` first")
    with clear_errors():
        # retrieval only (an unanswerable question's best passage): no reader model
        pipeline = Pipeline(settings, reader=LexicalReader())
        pipeline.load()
        try:

            def best(question: str):
                found = pipeline.search(question, 1)
                return (found[0].text, found[0].doc_id) if found else None

            counts = export_feedback(pipeline.store, best, out)
        finally:
            pipeline.close()
    typer.echo(json.dumps({"file": str(out), **counts}))
