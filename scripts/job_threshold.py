"""How long a synchronous ``POST /documents`` takes by the size of its text (issue 38,
item 4): the figures behind ``RAG_JOB_THRESHOLD_BYTES``, the size past which a write
answers 202 with a job instead of holding its request.

A seeded ``rag serve`` is sent texts of generated sentences (``tests/support/texts``)
with ``?wait=true`` (always synchronous), one after another, each once; then, with the
default threshold, a 5 MB text and a 5 MB file: how soon each is answered 202 with a
job (then cancelled). One line a measurement, then JSON.

    python scripts/job_threshold.py [--sizes 10000,30000,100000,300000,1000000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.server import Server  # noqa: E402
from tests.support.texts import many_sentences  # noqa: E402


def measure(sizes: list[int]) -> list[dict]:
    """Seconds for each size's synchronous write, against one fresh seeded server."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="rag-threshold-") as tmp:
        server = Server.seeded(Path(tmp)).start()
        try:
            for n, size in enumerate(sizes):
                text = many_sentences(size, seed=100 + n)
                body = {"title": f"Minutes {n}", "text": text}
                t0 = time.perf_counter()
                r = httpx.post(
                    f"{server.base}/documents", json=body, params={"wait": "true"}, timeout=600
                )
                took = time.perf_counter() - t0
                row = {"bytes": len(text.encode()), "status": r.status_code, "seconds": took}
                print(f"{row['bytes']:>9} bytes  {r.status_code}  {took:7.2f} s", flush=True)
                rows.append(row)
            rows += _big_writes(server)
        finally:
            server.stop()
    return rows


def _big_writes(server: Server) -> list[dict]:
    """Seconds until a 5 MB text and a 5 MB file are answered (202, a job)."""
    data = many_sentences(5_200_000, seed=99)
    rows = []
    for what, kwargs in (
        ("text", {"json": {"text": data}}),
        ("file", {"files": [("files", ("report.txt", data.encode(), "text/plain"))]}),
    ):
        path = "/documents" if what == "text" else "/documents/files"
        t0 = time.perf_counter()
        r = httpx.post(f"{server.base}{path}", timeout=600, **kwargs)
        took = time.perf_counter() - t0
        row = {"bytes": len(data.encode()), "what": what, "status": r.status_code, "seconds": took}
        print(f"{row['bytes']:>9} bytes  {what}  {r.status_code}  {took:7.2f} s", flush=True)
        rows.append(row)
        if r.status_code == 202:
            httpx.delete(f"{server.base}/jobs/{r.json()['id']}", timeout=30)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000,100000,300000,1000000")
    args = parser.parse_args()
    rows = measure([int(s) for s in args.sizes.split(",")])
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
