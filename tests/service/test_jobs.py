"""Long writes as jobs (issue 38, item 4): the job table and its inputs, a job's
lifecycle and progress, cancelling, and a restart on the same index folder (the job is
run again, or reported failed; its document whole or absent)."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from rag.core.errors import IngestError
from rag.service.job_store import KEEP_FINISHED, KEEP_SECONDS, JobStore
from rag.service.jobs import MAX_ATTEMPTS, Jobs
from rag.service.progress import PassageBar
from tests.support.texts import many_sentences

FINISHED = ("done", "failed", "cancelled")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _wait(jobs: Jobs, job_id: str, until=lambda job: job.finished, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = jobs.get(job_id)
        if until(job):
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} still {jobs.get(job_id).state} after {seconds} s")


# ------------------------------------------------------------------ the table, no model


def test_a_job_is_on_disk_before_it_is_answered_and_its_input_goes_when_it_ends(tmp_path):
    store = JobStore(tmp_path)
    job = store.add("team", "files", [b"one", b"two!"], ["a.txt", "b.txt"], {"title": None})
    assert len(job.id) == 32 and job.size == 7 and job.state == "queued"
    assert sorted(p.name for p in (tmp_path / "jobs" / job.id).iterdir()) == ["0", "1"]
    again = JobStore(tmp_path)  # another process, or after a restart
    assert again.get(job.id) == job
    assert again.read_inputs(job) == [b"one", b"two!"]
    assert again.next_queued().id == job.id and again.start(job.id)
    assert not again.start(job.id), "started once"
    job.documents = [{"doc_id": "team:x", "title": "X", "created": True}]
    again.finish(job, "done")
    assert again.get(job.id).state == "done" and again.get(job.id).documents == job.documents
    assert not (tmp_path / "jobs" / job.id).exists() and again.read_inputs(job) is None


def test_jobs_are_listed_by_collection_newest_first(tmp_path):
    store = JobStore(tmp_path)
    made = [store.add(c, "text", [b"x"], [], {}) for c in ("hr", "legal", "hr")]
    assert [j.id for j in store.list(["hr"])] == [made[2].id, made[0].id]
    assert [j.id for j in store.list(None)] == [j.id for j in reversed(made)]
    assert store.list([]) == [] and store.get("nope") is None


def test_settling_queues_again_or_fails_with_the_reason(tmp_path):
    store = JobStore(tmp_path)
    resumed = store.add("hr", "text", [b"kept"], [], {})
    lost = store.add("hr", "text", [b"lost"], [], {})
    crashing = store.add("hr", "text", [b"kills the server"], [], {})
    for job in (resumed, lost, crashing):
        store.start(job.id)
    for _ in range(MAX_ATTEMPTS - 1):  # two restarts more, each during this job
        store.settle(MAX_ATTEMPTS)
        store.start(crashing.id)
    shutil.rmtree(tmp_path / "jobs" / lost.id)
    (tmp_path / "jobs" / ("0" * 32)).mkdir()  # an input whose row never committed
    (tmp_path / "jobs" / f"{'1' * 32}.part").mkdir()
    failed = {job.id: job.error for job in JobStore(tmp_path).settle(MAX_ATTEMPTS)}
    assert set(failed) == {lost.id, crashing.id}
    assert "input was lost" in failed[lost.id] and "3 times" in failed[crashing.id]
    assert store.get(resumed.id).state == "queued" and store.get(lost.id).state == "failed"
    assert sorted(p.name for p in (tmp_path / "jobs").iterdir()) == [resumed.id]


def test_finished_jobs_are_kept_a_day_and_a_thousand_at_most(tmp_path, monkeypatch):
    clock = Clock()
    store = JobStore(tmp_path, now=clock)
    old = store.add("hr", "text", [b"x"], [], {})
    store.finish(old, "done")
    running = store.add("hr", "text", [b"x"], [], {})
    store.start(running.id)
    clock.now += KEEP_SECONDS + 1
    assert store.prune() == 1 and store.get(old.id) is None and store.get(running.id)
    monkeypatch.setattr("rag.service.job_store.KEEP_FINISHED", 2)
    for _ in range(3):
        store.finish(store.add("hr", "text", [b"x"], [], {}), "failed")
    assert store.prune() == 1 and len(store.list(None)) == 3, "2 finished and the running one"
    assert KEEP_FINISHED == 1000


def test_a_passage_bar_adds_each_write_to_the_writes_before_it():
    """`rag index` writes batch after batch: one bar, its total growing with each."""
    with PassageBar("indexing", disable=True) as bar:
        first = bar.write()
        first(0, 10)
        first(10, 10)
        second = bar.write()
        second(0, 5)
        second(3, 5)
        assert (bar.bar.n, bar.bar.total) == (13, 15)


# ------------------------------------------------------------------ jobs over a pipeline


def _text_job(jobs: Jobs, size: int, seed: int = 7, collection: str = "default"):
    text = many_sentences(size, seed=seed)
    params = {"title": f"Minutes {seed}", "metadata": {"year": 2024}}
    return jobs.submit(collection, "text", [text.encode()], [], params), text


@pytest.mark.model
def test_a_job_runs_to_done_showing_its_progress_and_stores_its_document(seeded):
    jobs = seeded.start_jobs()
    job, _ = _text_job(jobs, 40_000)
    seen = set()
    finished = _wait(jobs, job.id, lambda j: seen.add((j.done, j.total)) or j.finished)
    assert finished.state == "done", finished.error
    assert finished.done == finished.total > 16 and finished.started_at >= finished.created_at
    assert any(0 < done < total for done, total in seen if total), f"no progress seen: {seen}"
    stored = seeded.store.document(finished.documents[0]["doc_id"])
    assert stored.title == "Minutes 7" and stored.metadata["year"] == 2024
    assert finished.documents[0]["created"]
    _gone(seeded.settings.index_dir / "jobs" / job.id)
    found = seeded.search("Zorblax Kite Society minutes", top_k=3)
    assert stored.doc_id in {c.doc_id for c in found}, "answerable at once"


@pytest.mark.model
def test_a_files_job_lists_each_file_and_fails_only_when_all_do(seeded):
    jobs = seeded.start_jobs()
    good = b"Owls\n\nSnowy owls nest on the open tundra of the Arctic."
    mixed = jobs.submit("default", "files", [good, b"\xff\xfe\x00"], ["owls.txt", "bad.txt"], {})
    done = _wait(jobs, mixed.id)
    assert done.state == "done" and [d["file"] for d in done.documents] == ["owls.txt"]
    assert [e["file"] for e in done.errors] == ["bad.txt"] and "bad.txt" in done.errors[0]["detail"]
    bad = _wait(jobs, jobs.submit("default", "files", [b""], ["empty.txt"], {}).id)
    assert bad.state == "failed" and "empty.txt" in bad.error and bad.documents == []
    with pytest.raises(IngestError):
        jobs.submit("default", "text", [b"x"], [], {"metadata": {"bad key!": 1}})


@pytest.mark.model
def test_cancel_drops_a_queued_job_and_stops_a_running_one_with_nothing_stored(seeded):
    jobs = seeded.start_jobs()
    running, _ = _text_job(jobs, 60_000, seed=1)
    queued, _ = _text_job(jobs, 20_000, seed=2)
    _wait(jobs, running.id, lambda j: j.state == "running" and (j.done or 0) > 0)
    assert jobs.cancel(queued.id) and jobs.get(queued.id).state == "cancelled"
    _gone(seeded.settings.index_dir / "jobs" / queued.id)
    t0 = time.perf_counter()
    assert jobs.cancel(running.id) and jobs.cancelling(running.id)
    ended = _wait(jobs, running.id)
    assert ended.state == "cancelled" and time.perf_counter() - t0 < 10, "one slice at most"
    assert ended.documents == [] and seeded.store.counts()[0] == 3, "nothing stored"
    assert not jobs.cancel(running.id), "finished: nothing to cancel"


@pytest.mark.model
def test_a_restart_during_a_job_runs_it_again_and_stores_it_whole(settings, make_pipeline):
    first = make_pipeline(settings)
    first.ensure_index()
    jobs = first.start_jobs()
    job, text = _text_job(jobs, 60_000, seed=3)
    _wait(jobs, job.id, lambda j: j.state == "running" and (j.done or 0) > 0)
    first.close()  # as SIGTERM: the job stops at its next slice, left running
    assert JobStore(settings.index_dir).get(job.id).state == "running"
    assert _count(settings.index_dir) == 3, "nothing half-stored"
    second = make_pipeline(settings)
    resumed = _wait(second.start_jobs(), job.id)
    assert resumed.state == "done" and resumed.documents[0]["created"]
    stored = second.store.document(resumed.documents[0]["doc_id"])
    assert stored.text.strip() == text.strip() and second.store.counts()[0] == 4


def _gone(path: Path) -> None:
    """The input is deleted just after the final state is committed."""
    deadline = time.monotonic() + 10
    while path.exists():
        assert time.monotonic() < deadline, f"{path} is still there"
        time.sleep(0.02)


def _count(index_dir: Path) -> int:
    with sqlite3.connect(index_dir / "rag.sqlite3") as db:
        return db.execute("SELECT count(*) FROM documents").fetchone()[0]
