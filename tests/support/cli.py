"""Running the `rag` command line as a user does: as a real process, or, for a command
that fails or finishes before it loads a model or serves, in this process."""

import os
import subprocess
import sys
import traceback
from unittest import mock


def rag(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``rag ARGS`` in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def rag_here(
    *args: str, env: dict | None = None, input: str | None = None
) -> subprocess.CompletedProcess:
    """``rag ARGS`` run by the same entry point as :func:`rag` (``rag.cli.main``, which
    turns a bad ``RAG_*`` variable into one line), in this process: ``env`` set for the
    call and ``input`` its standard input (typer's ``CliRunner``), the settings read
    afresh, stdout and stderr captured, an escaped exception written to stderr as the
    traceback a child would print. It saves starting Python and importing the
    libraries, seconds a call; never for ``serve`` (it would serve here)."""
    from typer.testing import CliRunner

    from rag.cli import main
    from rag.core.settings import get_settings

    assert "serve" not in args[:1], "`rag serve` runs as a real process: rag()"
    with (
        CliRunner().isolation(input=input, env=env) as (out, err, _),
        mock.patch.object(sys, "argv", ["rag", *args]),
    ):
        get_settings.cache_clear()  # the settings of ``env``, not those of an earlier call
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
        except Exception:
            traceback.print_exc()
            code = 1
        finally:
            get_settings.cache_clear()
        sys.stdout.flush()
        sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return subprocess.CompletedProcess(["rag", *args], code, stdout, stderr)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The one ``error: …`` line of a failed command (no traceback)."""
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]
