"""The ``rag`` command line: a thin shell over the library.

:mod:`rag.cli.app` holds the typer app and how expected errors become one line; the
commands live in :mod:`rag.cli.service` (index, ask, documents, delete, serve, mcp,
migrate), :mod:`rag.cli.reindex` (reindex), :mod:`rag.cli.sync` (sync),
:mod:`rag.cli.chat` (chat), :mod:`rag.cli.lab` (eval, perturb, train-reader),
:mod:`rag.cli.feedback` (feedback list, feedback export) and :mod:`rag.cli.keys` (keys
create, list, revoke), which register themselves on the app when imported here, in the
order ``rag --help`` lists them.
"""

from __future__ import annotations

from rag.cli.app import app, clear_errors, fail, main, print_report

# isort: off
from rag.cli import service  # the service's commands first in `rag --help`
from rag.cli import reindex
from rag.cli import sync
from rag.cli import chat
from rag.cli import lab
from rag.cli import feedback
from rag.cli import keys
# isort: on

__all__ = [
    "app",
    "chat",
    "clear_errors",
    "fail",
    "feedback",
    "keys",
    "lab",
    "main",
    "print_report",
    "reindex",
    "service",
    "sync",
]
