"""The outside test's crafted files against a real `rag serve` (issue 31), and SIGTERM
during a long parse and a large text's splitting (issue 32, item 7; issue 37, item 5):
every file answered for, none a 500, nothing partial stored, questions answered
meanwhile, the server's memory flat."""

from __future__ import annotations

import contextlib
import re
import signal
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks.server import Server
from rag.documents import ingest
from tests.support import hostile
from tests.support.processes import memory_mb, parse_workers
from tests.support.texts import many_sentences

pytestmark = pytest.mark.server

MEMORY_MB = 300
ENV = {
    "RAG_PARSE_SECONDS": "30",  # the slow PDF of the SIGTERM test must outlast SIGTERM
    "RAG_PARSE_MEMORY_MB": str(MEMORY_MB),
    "RAG_MAX_UPLOAD_BYTES": str(16 << 20),
    "RAG_MAX_UPLOAD_FILES": "16",
}
GOOD = b"Mills\n\nThe Velmor mill grinds oats for the whole valley."
#: Every crafted file's status: 413 past a limit (pypdf's 75 MB a stream, memory), 422
#: for a file the parser cannot read; the nested dictionary is read fine.
STATUS = {
    "parent-cycle.pdf": 422,
    "self-reference.pdf": 422,
    "nested-content.pdf": 422,
    "long-length.pdf": 413,
    "junk-encryption.pdf": 422,
    "unknown-filter.pdf": 422,
    "bad-predictor.pdf": 422,
    "flate-bomb.pdf": 413,
    "breaks.html": 413,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """One server for the module; the last test stops it with SIGTERM."""
    started = Server.seeded(tmp_path_factory.mktemp("hostile"), ENV).start()
    yield started
    started.kill()


class Watch(threading.Thread):
    """Asks a question back to back and samples the server's and its workers' memory,
    until stopped."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server, self.done = server, threading.Event()
        self.latencies: list[tuple[float, float]] = []  # (when asked, seconds taken)
        self.server_mb: list[float] = []
        self.worker_mb: list[float] = [0.0]

    def run(self) -> None:
        pid = self.server.proc.pid
        with httpx.Client(base_url=self.server.base, timeout=30) as client:
            while not self.done.is_set():
                started = time.perf_counter()
                r = client.post("/ask", json={"question": "Where was Kim invited?"})
                self.latencies.append((started, time.perf_counter() - started))
                assert r.status_code == 200 and r.json()["answer"] == "Moscow"
                self.server_mb.append(memory_mb(pid))
                for worker in parse_workers(pid):
                    with contextlib.suppress(OSError):  # killed meanwhile
                        self.worker_mb.append(memory_mb(worker))
                time.sleep(0.05)


def test_a_batch_of_crafted_files_reports_each_file_and_stores_only_the_good(server):
    files = [("good.txt", GOOD)] + [
        (f"{kind}.pdf", make()) for kind, make in hostile.HOSTILE_PDFS.items()
    ]
    files.append(("breaks.html", hostile.page_of_breaks(3)))  # ~660 MB in-process
    baseline = memory_mb(server.proc.pid)
    watch = Watch(server)
    watch.start()
    time.sleep(1.5)
    upload_started = time.perf_counter()
    try:
        r = httpx.post(
            f"{server.base}/documents/files",
            files=[("files", (name, data)) for name, data in files],
            params={"wait": "true"},  # held to the end, as before jobs (issue 38, item 4)
            timeout=120,
        )
    finally:
        watch.done.set()
        watch.join(10)
    assert r.status_code == 201, r.text
    body = r.json()
    assert [d["file"] for d in body["documents"]] == ["good.txt", "nested-dictionary.pdf"]
    failed = {e["file"]: e for e in body["errors"]}
    assert {name: e["status"] for name, e in failed.items()} == STATUS
    for name, failure in failed.items():
        assert failure["detail"].startswith(f"{name}: ") and "\n" not in failure["detail"]
    # its memory limit, or on a machine too busy to reach it in time, its time limit
    assert re.fullmatch(
        rf"breaks\.html: HTML page parsing exceeded ({MEMORY_MB} MB of memory|30 s)",
        failed["breaks.html"]["detail"],
    )
    listed = httpx.get(f"{server.base}/documents", timeout=10).json()["documents"]
    assert len(listed) == 3 + 2, "nothing of a refused file was stored"
    # questions answered within 1 s of what they take on this machine just before: the
    # suite's machine is shared (2 cores), so the reference is measured, not assumed
    before = [took for at, took in watch.latencies if at < upload_started]
    during = [took for at, took in watch.latencies if at >= upload_started]
    assert during and statistics.median(during) < 1.0 + statistics.median(before), (
        before,
        during,
    )
    assert max(watch.server_mb) - baseline < 200, "the parsing happened elsewhere"
    assert max(watch.worker_mb) <= MEMORY_MB


def test_too_many_files_in_one_request_are_refused_before_any_is_stored(server):
    files = [("files", (f"note-{i}.txt", b"Note %d about otters." % i)) for i in range(17)]
    r = httpx.post(f"{server.base}/documents/files", files=files, timeout=60)
    assert r.status_code == 413
    assert (
        r.json()["detail"] == "17 files in one request: at most 16; send them in several requests"
    )
    listed = httpx.get(f"{server.base}/documents", timeout=10).json()["documents"]
    assert not [d for d in listed if d["title"].startswith("Note ")]


def test_sigterm_during_a_long_parse_and_a_large_text_answers_503_and_exits_at_once(server):
    """A parse of about 150 s (1,000 pages sharing one heavy content stream) and the
    sentence splitting of 5 MB of text (20-30 s) are under way when SIGTERM comes (issue
    32, item 7; issue 37, item 5): both workers are killed, both uploads are answered
    503 "the service is shutting down; retry" with Retry-After, the server exits 0
    within seconds and logs no traceback, and a restart finds the text absent or whole."""
    text = many_sentences(5_000_000)
    outcome: dict[str, object] = {}

    def post(what: str, path: str, **body) -> None:
        try:
            wait = {"wait": "true"}  # held, not a job (issue 38, item 4)
            outcome[what] = httpx.post(f"{server.base}{path}", timeout=60, params=wait, **body)
        except httpx.HTTPError as exc:  # a dropped connection: asserted against below
            outcome[what] = exc

    logged = len(server.output())
    pdf = {"files": {"files": ("slow.pdf", hostile.slow_pdf(1000))}}
    threads = [threading.Thread(target=post, args=("pdf", "/documents/files"), kwargs=pdf)]
    threads[0].start()
    deadline = time.monotonic() + 20
    while not (workers := parse_workers(server.proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers, "the parse started"
    minutes = {"json": {"title": "Minutes", "text": text}}
    threads.append(threading.Thread(target=post, args=("text", "/documents"), kwargs=minutes))
    threads[1].start()
    time.sleep(1.0)
    workers |= parse_workers(server.proc.pid)
    started = time.perf_counter()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=30)
    stopped_in = time.perf_counter() - started
    for thread in threads:
        thread.join(10)
    log = server.output()[logged:]
    assert stopped_in < 5, f"SIGTERM took {stopped_in:.1f} s"
    assert server.proc.returncode == 0, log[-2000:]
    assert all(not _running(worker) for worker in workers), "the workers were killed"
    assert "Traceback" not in log and "CancelledError" not in log, log
    for what, name in (("pdf", "slow.pdf: "), ("text", "")):
        response = outcome[what]
        assert isinstance(response, httpx.Response), f"{what}: {response!r}"
        assert response.status_code == 503, (what, response.text)
        assert response.json()["detail"] == f"{name}the service is shutting down; retry"
        assert response.headers["retry-after"] == "5"
    _assert_absent_or_whole(server, "Minutes", ingest.clean_text(text))


def _assert_absent_or_whole(stopped: Server, title: str, text: str) -> None:
    """On a restart over the same index, a document titled ``title`` is not listed, or
    holds all of ``text`` with every passage's vector (nothing half-stored). It asks no
    question: the model-free reader (the reader's model took half of its start)."""
    env, lexical = stopped.env, {**ENV, "RAG_READER_MODEL": "lexical"}
    again = Server(Path(env["RAG_DOCS_DIR"]), Path(env["RAG_INDEX_DIR"]), lexical).start()
    try:
        listed = httpx.get(f"{again.base}/documents", timeout=10).json()["documents"]
        for found in [d for d in listed if d["title"] == title]:
            stored = httpx.get(f"{again.base}/documents/{found['doc_id']}", timeout=30).json()
            assert stored["text"] == text
        health = httpx.get(f"{again.base}/health", timeout=10).json()
        assert health["status"] == "ok" and health["vectors"] == health["chunks"], health
    finally:
        again.stop()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
