"""``python -m tests.support.sync_fuzz --seeds 0:300 [--store sqlite|milvus]``: a folder
changed in rounds (the edits, shortenings, deletions, renames, copies and new files of
test_sync_crash.py, and files made unreadable then mended), each round's sync killed at a
random line of ``rag/`` (most rounds) or run to its end, then every file mended and one
sync to the end, compared with a clean build of the folder.

Each sync runs in a forked process that counts the lines it runs in ``rag/`` and kills
itself with SIGKILL at the drawn one: every kind of moment is reached (between any two
statements of a write, a record, a deletion), unlike a kill from outside at a random
time. Prints one JSON line per seed that ends unlike a clean build (its kill lines, what
differs) and a last line with the counts; exits 1 if any did. Found the two ordering
defects of docs/sync.md's "Crashes and failures" (issue 37)."""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from rag.core.settings import Settings
from rag.service import sync, watch
from tests.support.embedding import HashEmbedder
from tests.support.paths import ROOT
from tests.support.syncing import UNREADABLE, SyncIndex, mutate, paragraphs, write

RAG = str(ROOT / "rag") + os.sep
#: Of the rounds' syncs, the share killed (the others run to their end).
KILLED = 0.85


def _forked(job, *args) -> int:
    """``job(*args)`` in a forked process; its exit status (0: returned)."""
    pid = os.fork()
    if pid == 0:
        try:
            job(*args)
        except BaseException as exc:
            print(f"child failed: {exc!r}", file=sys.stderr)
            os._exit(3)
        os._exit(0)
    return os.waitpid(pid, 0)[1]


def _sync(docs: Path, index: Path, store: str, kill_at: int | None, lines: Path) -> None:
    """One sync, killed at its ``kill_at``-th line of rag/; writes the lines it ran."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if not frame.f_code.co_filename.startswith(RAG):
            return None
        if event == "line":
            count += 1
            if kill_at is not None and count >= kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
        return tracer

    sys.settrace(tracer)
    watch.sync_folder(Settings(index_dir=index, store=store), docs)
    sys.settrace(None)
    lines.write_text(str(count))


def _compare(docs: Path, index: Path, clean: Path, store: str, out: Path) -> None:
    """What differs between the synced index and a clean build, as JSON in ``out``."""
    synced, built = SyncIndex(index, store), SyncIndex(clean, store)
    try:
        built.sync(docs)
        a, b = synced.documents(), built.documents()
        pa, pb = synced.passages(), built.passages()
        diff = {
            "extra": sorted(set(a) - set(b)),
            "missing": sorted(set(b) - set(a)),
            "differ": sorted(k for k in set(a) & set(b) if a[k] != b[k] or pa[k] != pb[k]),
            "vectors": [synced.store.vector_count(), built.store.vector_count()],
        }
    finally:
        synced.close()
        built.close()
    out.write_text(json.dumps(diff))


def _break_or_mend(docs: Path, rng: random.Random) -> None:
    """Now and then, a file made unreadable (not UTF-8: its previous version stays
    indexed) or an unreadable one mended."""
    broken = [p for p in sorted(docs.rglob("*.txt")) if p.read_bytes() == UNREADABLE]
    if broken and rng.random() < 0.5:
        write(rng.choice(broken), paragraphs(f"m{rng.randrange(10**6)}x", rng.randint(1, 8)))
    elif rng.random() < 0.4:
        rng.choice(sorted(docs.rglob("*.txt"))).write_bytes(UNREADABLE)


def trial(
    seed: int, work: Path, store: str = "sqlite", rounds: int = 12, replay: list | None = None
) -> dict | None:
    """One seed: None if the index ends equal to a clean build, else what differs.
    ``replay``: each round's kill line (None: run to the end) instead of drawn ones, to
    replay a seed with fewer kills."""
    rng, kills = random.Random(seed), random.Random(seed * 7919 + 1)
    breaks = random.Random(seed * 104729 + 2)
    shutil.rmtree(work, ignore_errors=True)
    docs, index, lines = work / "docs", work / "index", work / "lines"
    (docs / "sub").mkdir(parents=True)
    for n in range(12):
        write(docs / f"f{n}.txt", paragraphs(f"f{n}x", rng.randint(1, 30)))
    longest, drawn = 20_000, []
    for round_ in range(rounds):
        mutate(docs, rng, round_)
        _break_or_mend(docs, breaks)
        kill_at = kills.randint(1, longest) if kills.random() < KILLED else None
        kill_at = replay[round_] if replay is not None else kill_at
        status = _forked(_sync, docs, index, store, kill_at, lines)
        drawn.append(kill_at if status else None)  # None: it ended before its line
        if lines.exists():
            longest = max(100, int(lines.read_text()))
            lines.unlink()
    for path in sorted(docs.rglob("*.txt")):  # all mended: a clean build can be compared
        if path.read_bytes() == UNREADABLE:
            write(path, paragraphs(f"last{breaks.randrange(10**6)}x", 3))
    if _forked(_sync, docs, index, store, None, lines) != 0:
        return {"seed": seed, "kills": drawn, "error": "the last sync failed"}
    _forked(_compare, docs, index, work / "clean", store, work / "diff.json")
    diff = json.loads((work / "diff.json").read_text())
    if not (diff["extra"] or diff["missing"] or diff["differ"]) and len(set(diff["vectors"])) == 1:
        return None
    return {"seed": seed, "kills": drawn, **diff}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0:20", help="a range, first:last (excluded)")
    parser.add_argument("--store", default="sqlite", choices=["sqlite", "milvus"])
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    first, last = (int(n) for n in args.seeds.split(":"))
    watch.embedder_for = lambda settings, **_: HashEmbedder()
    sync.SYNC_BATCH = 2  # many store writes and records for a kill to fall between
    failed = 0
    with tempfile.TemporaryDirectory(prefix="sync-fuzz-") as work:
        for seed in range(first, last):
            found = trial(seed, Path(work) / "trial", args.store, args.rounds)
            if found is not None:
                failed += 1
                print(json.dumps(found), flush=True)
    print(json.dumps({"seeds": last - first, "failed": failed, "store": args.store}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
