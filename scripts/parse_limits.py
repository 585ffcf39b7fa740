"""The figures behind the parsing limits (issue 31, docs/reliability.md).

Each file is parsed twice, each time in a fresh process so that its peak memory is its
own: in-process, as the server did before (no limit; ``--cap`` seconds at most here),
and through the bounded parser with the default limits. Printed as a Markdown table.

    python scripts/parse_limits.py [--cap 120]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import hostile  # noqa: E402
from tests.support.pdfs import make_pdf  # noqa: E402

LINE = "The committee met on Tuesday to discuss the budget of the regional water authority."


def files() -> dict[str, bytes]:
    """The outside test's files, the pages that were slow, and legitimate large files."""
    made = {f"{kind}.pdf": build() for kind, build in hostile.HOSTILE_PDFS.items()}
    made["slow-200-pages.pdf"] = hostile.slow_pdf(200)
    words = 9 * (1 << 20)
    made["words-9MB.html"] = hostile.repeated_word_page(9)
    made["paragraphs-9MB.html"] = b"<html><body>" + b"<p>word</p>" * (words // 11) + b"</body>"
    made["breaks-9MB.html"] = hostile.page_of_breaks(9)
    made["report-1000-pages.pdf"] = make_pdf(
        [[f"{LINE} ({p}.{i})" for i in range(45)] for p in range(1000)]
    )
    return made


CHILD = """
import json, resource, sys, time, logging, warnings
logging.disable(logging.CRITICAL); warnings.simplefilter("ignore")
from rag.documents import ingest
from rag.documents.parsing import Parser
data, name, bounded = open(sys.argv[1], "rb").read(), sys.argv[2], sys.argv[3] == "1"
parser = Parser() if bounded else None
started = time.perf_counter()
try:
    document = (parser.read_bytes if bounded else ingest.read_bytes)(data, name)
    outcome = f"stored: {len(document.text) // 1024} kB of text"
except Exception as exc:
    outcome = f"{type(exc).__name__}: {str(exc)[len(name) + 2:][:70]}"
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
print(json.dumps([outcome, seconds, peak, child]))
"""


def measure(path: Path, name: str, bounded: bool, cap: float) -> tuple:
    """(outcome, seconds, peak MB of the process, of its worker) in a fresh process."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), name, "1" if bounded else "0"],
            capture_output=True,
            text=True,
            timeout=cap,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return (f"still parsing after {cap:g} s", cap, None, None)
    if done.returncode != 0:
        return (f"crashed: {done.stderr.strip().splitlines()[-1][:80]}", 0.0, None, None)
    return tuple(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cap", type=float, default=120.0, help="seconds per in-process parse")
    cap = parser.parse_args().cap
    print("| file | size | before: outcome, s, peak MB | bounded: outcome, s, server / worker MB |")
    print("| --- | --- | --- | --- |")
    for name, data in files().items():
        path = Path("/tmp") / f"parse-limits-{name}"
        path.write_bytes(data)
        before = measure(path, name, False, cap)
        after = measure(path, name, True, cap)
        path.unlink()
        size = f"{len(data) / 1024:,.0f} kB"
        print(
            f"| {name} | {size} | {before[0]}, {before[1]:.2f}, {before[2]} | "
            f"{after[0]}, {after[1]:.2f}, {after[2]} / {after[3]} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
