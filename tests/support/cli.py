"""Running the `rag` command line as a real process, as a user does."""

import os
import subprocess
import sys


def rag(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``rag ARGS`` in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The one ``error: …`` line of a failed command (no traceback)."""
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]
