"""A restart of a real ``rag serve`` during a job (issue 38, item 4): SIGKILL while it
embeds, start again, SIGTERM while it embeds again, start again; the job is run again
each time from its saved input and ends done, with its document whole and answerable
(never half-stored, never silently lost), and no traceback is logged."""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from benchmarks.server import Server
from tests.support.texts import many_sentences

pytestmark = [pytest.mark.server, pytest.mark.model]

FACT = "The Zorblax treasurer is Ottilie Vane."


def _job(server: Server, job_id: str) -> dict:
    r = httpx.get(f"{server.base}/jobs/{job_id}", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _embedding(server: Server, job_id: str, seconds: float = 120) -> dict:
    """The job once it has embedded some passages (it is running)."""
    deadline = time.monotonic() + seconds
    while (job := _job(server, job_id))["passages_done"] == 0:
        assert job["state"] in ("queued", "running"), job
        assert time.monotonic() < deadline, "the job did not start embedding"
        time.sleep(0.1)
    return job


def test_a_job_survives_sigkill_and_sigterm_and_its_document_is_whole(tmp_path):
    # the model-free reader: the passages of the last answer are checked, not its words,
    # and the reader's model took half of each of the three starts
    env = {"RAG_JOB_THRESHOLD_BYTES": "1000", "RAG_READER_MODEL": "lexical"}
    server = Server.seeded(tmp_path, env=env).start()
    try:
        text = many_sentences(40_000, seed=21) + "\n\n" + FACT
        r = httpx.post(f"{server.base}/documents", json={"text": text}, timeout=30)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        before = _embedding(server, job_id)
        assert before["state"] == "running" and before["passages_total"] > 25
        server.kill()  # SIGKILL: no chance to record anything
        server.start()
        again = _embedding(server, job_id)
        assert again["state"] == "running", "run again from its saved input"
        server.kill(signal.SIGTERM)  # a clean stop during the job: left to run again
        assert server.proc.returncode == 0
        server.start()
        deadline = time.monotonic() + 600
        while (job := _job(server, job_id))["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["state"] == "done", job
        assert job["passages_done"] == job["passages_total"] == before["passages_total"]
        doc_id = job["doc_ids"][0]
        stored = httpx.get(f"{server.base}/documents/{doc_id}", timeout=10).json()
        assert stored["text"].endswith(FACT)
        listed = httpx.get(f"{server.base}/documents", timeout=10).json()["documents"]
        assert [d["chunks"] for d in listed if d["doc_id"] == doc_id] == [job["passages_total"]]
        assert len(listed) == 4, "stored once"
        asked = {"question": "Who is the Zorblax treasurer?"}
        answer = httpx.post(f"{server.base}/ask", json=asked, timeout=60).json()
        assert doc_id in {p["doc_id"] for p in answer["passages"]}, answer
        assert "Traceback" not in server.output()
    finally:
        server.stop()
