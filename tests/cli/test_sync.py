"""`rag sync` and `rag serve --watch`: bad input is one line before any model loads (a
refused `rag sync` runs by its entry point in this process, ``rag_here``; `serve`, and
a sync that runs, as real processes); the report (text or JSON) and its exit status; a
served folder followed."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from benchmarks.server import Server
from tests.support.cli import one_error_line, rag, rag_here
from tests.support.sync_child import run
from tests.support.syncing import paragraphs, write

KEYS = ["added", "changed", "unchanged", "deleted", "renamed", "failed", "embedded_passages"]


def test_sync_refuses_bad_input_with_one_line(env, tmp_path):
    (tmp_path / "file.txt").write_text("a file")
    missing = one_error_line(rag_here("sync", str(tmp_path / "missing"), env=env))
    assert missing == f"error: {tmp_path / 'missing'}: no such folder"
    assert one_error_line(rag_here("sync", str(tmp_path / "file.txt"), env=env)).endswith(
        "file.txt: not a folder"
    )
    bad = one_error_line(rag_here("sync", str(tmp_path), "--collection", "Bad Name", env=env))
    assert "not a collection name" in bad
    watch = one_error_line(rag("serve", "--watch", str(tmp_path / "missing"), env=env))
    assert watch == f"error: --watch {tmp_path / 'missing'}: no such folder"
    alone = one_error_line(rag("serve", "--watch-collection", "team", env=env))
    assert alone.startswith("error: --watch-collection:") and "--watch DIR" in alone
    named = rag("serve", "--watch", str(tmp_path), "--watch-collection", "Bad Name", env=env)
    assert "not a collection name" in one_error_line(named)
    assert not (tmp_path / "index").exists(), "nothing opened"


def test_sync_reports_as_json_and_fails_while_a_file_cannot_be_read(tmp_path):
    docs, index = tmp_path / "docs", tmp_path / "index"
    write(docs / "a.txt", paragraphs("alpha", 3))
    write(docs / "b" / "c.md", "# Notes\n\nSome notes about gamma.")
    (docs / "bad.txt").write_bytes(b"\xff\xfe broken")
    first = run(index, str(docs), "--json")
    assert first.returncode == 1 and "Traceback" not in first.stderr
    report = json.loads(first.stdout)
    assert list(report) == KEYS and report["added"] == 2
    assert report["failed"] == [{"file": "bad.txt", "detail": report["failed"][0]["detail"]}]
    assert "not UTF-8" in report["failed"][0]["detail"]
    assert report["embedded_passages"] > 0
    (docs / "bad.txt").write_text("Fixed\n\nNow it reads.")
    second = run(index, str(docs))
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip().splitlines()[-1] == (
        "1 added, 0 changed, 2 unchanged, 0 deleted, 0 renamed, 0 failed; 1 passages embedded"
    )
    for path in docs.rglob("*.*"):
        path.unlink()
    emptied = run(index, str(docs), "--json")
    assert emptied.returncode == 1 and emptied.stdout == "" and "--allow-empty" in emptied.stderr
    allowed = json.loads(run(index, str(docs), "--json", "--allow-empty").stdout)
    assert allowed["deleted"] == 3


def _doc_ids(server: Server, collection: str = "default") -> list[str]:
    params = {"collection": collection}
    listing = httpx.get(f"{server.base}/documents", params=params, timeout=10).json()
    return sorted(d["doc_id"] for d in listing["documents"])


def _until(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.server
def test_serve_watch_follows_the_folder(tmp_path):
    docs = tmp_path / "watched"
    write(docs / "a.txt", paragraphs("alpha", 2))
    args = ("--watch", str(docs), "--watch-collection", "team")
    # the model-free reader: the watch is tested (it starts the server in half the time)
    lexical = {"RAG_READER_MODEL": "lexical"}
    server = Server(docs, tmp_path / "index", lexical, args=args).start()
    try:
        _until(lambda: _doc_ids(server, "team") == ["team:a.txt"])
        assert _doc_ids(server) == [], "nothing in default"
        write(docs / "b.txt", "Bravo\n\nThe bravo file says the meeting is in Oslo.")
        (docs / "a.txt").unlink()
        _until(lambda: _doc_ids(server, "team") == ["team:b.txt"])
        answer = httpx.post(
            f"{server.base}/ask", json={"question": "Where is the meeting?"}, timeout=60
        ).json()
        assert answer["answer"] == "Oslo"
    finally:
        log = server.stop()
    assert "sync of" in log and "Traceback" not in log
