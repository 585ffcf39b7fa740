"""schemathesis against a real `rag serve`: every response matches the OpenAPI, and no
generated request gets a 5xx. Bounded: the coverage phase's cases of each schema's edges,
and a fixed number of fuzzed examples per operation.

Three runs. The upload route takes .txt/.md files of UTF-8 text, which the schema cannot
express (a binary part named "files" is valid to it and gets 415 or 422), so there the
check that schema-valid data is accepted is left out; every other check runs on every
operation. /keys runs last: the first key it makes closes every other route to keyless
callers (401), which would leave the others untested.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.server import Server

pytestmark = pytest.mark.server

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")


def _run(server: Server, *extra: str) -> subprocess.CompletedProcess:
    """schemathesis in the server's throwaway folder, so that its cache lands there."""
    return subprocess.run(
        [
            SCHEMATHESIS,
            "--config-file",
            str(CONFIG),
            "run",
            f"{server.base}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            "15",  # fuzzing, per operation (25 made it 22 s of 33; the coverage phase's
            # 800-odd cases of the schema's edges are generated whatever this says)
            "--workers",
            "1",
            "--generation-deterministic",
            "--request-timeout",
            "60",
            "--no-color",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=server.log.parent,
    )


def test_schemathesis_finds_nothing(tmp_path):
    server = Server.seeded(tmp_path).start()
    try:
        every_check = _run(server, "--exclude-path", "/documents/files", "--exclude-tag", "keys")
        uploads = _run(
            server,
            "--include-path",
            "/documents/files",
            "--exclude-checks",
            "positive_data_acceptance",
        )
        keys = _run(server, "--include-tag", "keys")
    finally:
        server.stop()
    for run in (every_check, uploads, keys):
        assert run.returncode == 0, run.stdout[-4000:]
    assert not re.search(r'HTTP/1\.1" 5\d\d', server.output()), "no request got a 5xx"
