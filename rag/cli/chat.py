"""``rag chat``: a conversation in the terminal. Follow-ups ("Who invited him?", "When?")
are read with the turns before them, as on the page; ``/new`` starts over.

    $ rag chat
    you> Where was Kim invited?
    Moscow  (confidence 1.00)
    you> Who invited him?
      (understood as: Who invited Kim?)
    Sergei Lavrov  (confidence 0.97)
"""

from __future__ import annotations

from typing import Annotated

import typer

from rag.cli.app import app, clear_errors
from rag.cli.service import _pipeline
from rag.conversation import MAX_TURNS, Turn
from rag.core.errors import QuestionError
from rag.core.types import AskResult

HELP = "Ask a question; /new starts a new conversation, /quit (or Ctrl-D) leaves."


def _show(result: AskResult) -> None:
    if result.resolved_question != result.question:
        typer.echo(f"  (understood as: {result.resolved_question})")
    if result.answer is None:
        typer.echo(f"No answer in the documents (confidence {result.confidence:.2f}).")
        return
    marked = "  [confirmed by a user]" if result.confirmed else ""
    typer.echo(f"{result.answer}  (confidence {result.confidence:.2f}){marked}")
    for c in result.answers[0].sources[:3]:
        typer.echo(f"  - {c.title} [{c.doc_id} {c.start}:{c.end}]")


def _read(prompt: str) -> str | None:
    """The next line typed, or None at the end of the input."""
    try:
        return input(prompt)
    except EOFError:
        return None


@app.command()
def chat(
    top_k: Annotated[int | None, typer.Option(min=1, max=50, help="Passages to read.")] = None,
) -> None:
    """A conversation with the documents: follow-up questions take the turns before."""
    history: list[Turn] = []
    with clear_errors(), _pipeline() as pipeline:
        pipeline.ensure_index(progress=True)
        typer.echo(HELP)
        while (line := _read("you> ")) is not None:
            line = line.strip()
            if line in {"/quit", "/exit"}:
                break
            if line == "/new":
                history.clear()
                typer.echo("(a new conversation)")
                continue
            if not line:
                continue
            try:
                result = pipeline.ask(line, top_k, history=history)
            except QuestionError as exc:
                typer.echo(f"error: {exc}", err=True)
                continue
            _show(result)
            history = [*history, Turn(line, result.answer)][-MAX_TURNS:]
