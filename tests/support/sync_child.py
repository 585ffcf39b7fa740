"""``python -m tests.support.sync_child DIR [rag sync options]``: the real ``rag sync``
command in a process of its own, with the hashed embedder of tests/support/embedding.py
made slow (so that a sync lasts long enough to be killed anywhere: while reading,
embedding, storing or recording) and small batches (many store writes and manifest
records to fall between). A real model would spend most of each run loading."""

from __future__ import annotations

import sys

from rag.service import sync, watch
from tests.support.embedding import HashEmbedder

#: Seconds of "embedding" per passage.
DELAY = 0.05


def main() -> None:
    watch.Embedder = lambda model, **_: HashEmbedder(delay=DELAY)
    sync.SYNC_BATCH = 2
    from rag.cli import main as rag_main

    sys.argv = ["rag", "sync", *sys.argv[1:]]
    print("ready", file=sys.stderr, flush=True)
    rag_main()


if __name__ == "__main__":
    main()
