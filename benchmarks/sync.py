"""``python -m benchmarks sync``: ``rag sync`` as a user runs it (a process each time, the
packaged model) on a folder of many small files: the first build, the folder unchanged,
every file's mtime touched, then a few files edited, shortened, deleted and renamed, then
unchanged again. Each step's wall time (process start included) and its report; the
passages embedded must be 0 wherever no text changed, and the changed passages only
after the edits."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.common import machine, markdown_table
from rag.core.errors import StoreError

WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()


def make_folder(root: Path, files: int, seed: int = 0) -> list[Path]:
    """``files`` small text files (one passage each) in 100 subfolders."""
    rng = random.Random(seed)
    made = []
    for n in range(files):
        path = root / f"part{n % 100:02d}" / f"note{n:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        words = " ".join(rng.choice(WORDS) for _ in range(12))
        path.write_text(
            f"Note {n}\n\nNote {n} is about item{n} and {words}.\n\nIt was filed in part "
            f"{n % 100} on day {rng.randint(1, 365)}.\n",
            encoding="utf-8",
        )
        made.append(path)
    return made


def _sync(docs: Path, index: Path, store: str) -> dict:
    """One ``rag sync --json`` process: its report and wall seconds."""
    env = {**os.environ, "RAG_INDEX_DIR": str(index), "RAG_STORE": store}
    env.pop("RAG_MILVUS_URI", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rag", "sync", str(docs), "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise StoreError(f"rag sync failed: {done.stderr.strip()[-500:]}")
    report = json.loads(done.stdout)
    return {**report, "failed": len(report["failed"]), "seconds": round(seconds, 2)}


def _change(files: list[Path], changes: int, root: Path) -> None:
    """Edit, shorten, delete and rename ``changes`` files each."""
    edit, shorten, delete, rename = (files[i * changes : (i + 1) * changes] for i in range(4))
    for path in edit:
        path.write_text(path.read_text().replace(" is about ", " was once about "))
    for path in shorten:
        path.write_text(path.read_text().split("\n\nIt was filed")[0] + "\n")
    for path in delete:
        path.unlink()
    for path in rename:
        path.rename(root / "renamed" / path.name)


def run_store(store: str, files: int, changes: int, workdir: Path) -> list[dict]:
    """Every step on one store, in a folder and an index of ``workdir``."""
    docs, index = workdir / f"docs-{store}", workdir / f"index-{store}"
    made = make_folder(docs, files)
    (docs / "renamed").mkdir()
    steps = [("first build", None)]
    steps += [("unchanged", None), ("every mtime touched", "touch")]
    steps += [(f"{changes} edited, shortened, deleted and renamed", "change")]
    steps += [("unchanged again", None)]
    rows = []
    for name, action in steps:
        if action == "touch":
            for path in made:
                stat = path.stat()
                os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        elif action == "change":
            _change(made, changes, docs)
        rows.append({"store": store, "step": name, **_sync(docs, index, store)})
    return rows


def run(files: int, changes: int, stores: tuple[str, ...], workdir: Path | None) -> dict:
    """The steps on each store; the report."""
    tmp = Path(tempfile.mkdtemp(prefix="rag-sync-", dir=workdir))
    try:
        rows = [r for store in stores for r in run_store(store, files, changes, tmp)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "machine": machine(),
        "date": date.today().isoformat(),
        "files": files,
        "changes": changes,
        "steps": rows,
    }


def table(report: dict) -> str:
    columns = [
        ("store", "store"),
        ("step", "step"),
        ("seconds", "seconds"),
        ("added", "added"),
        ("changed", "changed"),
        ("unchanged", "unchanged"),
        ("deleted", "deleted"),
        ("renamed", "renamed"),
        ("failed", "failed"),
        ("embedded_passages", "passages embedded"),
    ]
    return markdown_table(report["steps"], columns)
