"""``python -m benchmarks sync`` end to end on a tiny folder (behaviour, not timings)."""

import subprocess
import sys

import pytest

from benchmarks import sync
from tests.support.paths import ROOT


@pytest.mark.model
def test_bench_sync_embeds_nothing_unchanged_and_only_the_changed_passages(tmp_path):
    report = sync.run(files=12, changes=2, stores=("sqlite",), workdir=tmp_path)
    steps = {row["step"]: row for row in report["steps"]}
    assert steps["first build"]["added"] == steps["first build"]["embedded_passages"] == 12
    for name in ("unchanged", "every mtime touched", "unchanged again"):
        assert steps[name]["embedded_passages"] == 0 and steps[name]["seconds"] > 0
    changed = steps["2 edited, shortened, deleted and renamed"]
    assert (changed["changed"], changed["deleted"], changed["renamed"]) == (4, 2, 2)
    assert changed["embedded_passages"] == 4
    assert "| sqlite | unchanged |" in sync.table(report)
    assert not list(tmp_path.iterdir()), "the throwaway folders are removed"


def test_bench_sync_refuses_bad_arguments_with_one_line():
    for args, expected in (
        (["--files", "20", "--changes", "6"], "at most a quarter of --files"),
        (["--store", "redis"], "the stores are sqlite and milvus"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks", "sync", *args],
            capture_output=True, text=True, cwd=ROOT, timeout=300,
        )  # fmt: skip
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and len(lines) == 1 and expected in lines[0], done.stderr
