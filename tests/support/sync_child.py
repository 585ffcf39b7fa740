"""``python -m tests.support.sync_child DIR [rag sync options]``: the real ``rag sync``
command in a process of its own, with the hashed embedder of tests/support/embedding.py
made slow (so that a sync lasts long enough to be killed anywhere: while reading,
embedding, storing or recording) and small batches (many store writes and manifest
records to fall between). A real model would spend most of each run loading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rag.service import sync, watch
from tests.support.embedding import HashEmbedder
from tests.support.paths import ROOT

#: Seconds of "embedding" per passage.
DELAY = 0.05


def main() -> None:
    """Runs ``rag sync``; says ``ready`` on stderr as the sync itself starts (the store
    open, Milvus Lite's server up), so that a kill lands in the sync, not the start."""
    watch.embedder_for = lambda settings, **_: HashEmbedder(delay=DELAY)
    sync.SYNC_BATCH = 2
    run = sync.FolderSync.run

    def announced(self, *args, **kwargs):
        print("ready", file=sys.stderr, flush=True)
        return run(self, *args, **kwargs)

    sync.FolderSync.run = announced
    from rag.cli import main as rag_main

    sys.argv = ["rag", "sync", *sys.argv[1:]]
    rag_main()


def run(index: Path, *args: str) -> subprocess.CompletedProcess:
    """This command with ``args`` (after ``rag sync``) into ``index``, run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "tests.support.sync_child", *args],
        cwd=ROOT,
        env={**os.environ, "RAG_INDEX_DIR": str(index)},
        capture_output=True,
        text=True,
        timeout=300,
    )


if __name__ == "__main__":
    main()
