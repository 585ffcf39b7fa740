"""Long uploads are jobs over HTTP (issue 38, item 4): 202 with a job past the threshold
or with ``?wait=false``, followed to its end with ``GET /jobs/{id}``; small writes stay
synchronous; a job is seen only by keys that could write its collection; cancel; bad
input still refused at once. (A restart of a real server: test_jobs_restart.py.)

The module's pipeline is its own (it writes), with a threshold of 2,000 bytes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.service.keys import KeyRing
from rag.service.pipeline import Pipeline
from tests.api.seeded import seeded_settings
from tests.support.texts import many_sentences

pytestmark = pytest.mark.model

LOCAL = ("127.0.0.1", 40000)
THRESHOLD = 2000
FINISHED = ("done", "failed", "cancelled")


@pytest.fixture(scope="module")
def world(embedder, reader, tmp_path_factory) -> Iterator[dict]:
    """A client of the app over the module's pipeline and keys: an admin, writers of
    ``team`` and of ``other``, a reader of ``team``."""
    workdir = tmp_path_factory.mktemp("jobs")
    settings = seeded_settings(workdir).model_copy(update={"job_threshold_bytes": THRESHOLD})
    ring = KeyRing(settings.index_dir / "keys.sqlite3")
    keys = {
        "admin": ring.create("admin", "*")[1],
        "team": ring.create("write", ["team"])[1],
        "other": ring.create("write", ["other"])[1],
        "reader": ring.create("read", ["team"])[1],
    }
    pipeline = Pipeline(settings, reader=reader, embedder=embedder)
    pipeline.load()
    pipeline.ensure_index()
    try:
        with TestClient(create_app(settings, pipeline), client=LOCAL) as client:
            yield {
                "client": client,
                **{k: {"Authorization": f"Bearer {v}"} for k, v in keys.items()},
            }
    finally:
        pipeline.close()


def follow(client: TestClient, job: dict, headers: dict, seconds: float = 180) -> dict:
    """Poll the job until it ends; the states seen are in ``job["seen"]``."""
    seen, deadline = [], time.monotonic() + seconds
    while job["state"] not in FINISHED:
        assert time.monotonic() < deadline, f"job still {job['state']}"
        time.sleep(0.05)
        r = client.get(f"/jobs/{job['id']}", headers=headers)
        assert r.status_code == 200, r.text
        job = r.json()
        seen.append((job["state"], job["passages_done"], job["passages_total"]))
    return {**job, "seen": seen}


def test_a_long_text_is_answered_with_a_job_followed_to_its_document(world):
    client, team = world["client"], world["team"]
    text = many_sentences(8000, seed=11) + "\n\nThe Zorblax treasurer is Ottilie Vane."
    body = {"text": text, "title": "Kite minutes", "collection": "team", "metadata": {"y": 1}}
    t0 = time.perf_counter()
    r = client.post("/documents", json=body, headers=team)
    # Answered before the work is done (the state below); the one-second target for 5 MB
    # is measured alone by `python -m benchmarks upload-page`, while here the two cores are
    # shared with another test worker (a CI run once took 1.12 s): 2 s of grace.
    assert r.status_code == 202 and time.perf_counter() - t0 < 2, r.text
    job = r.json()
    assert r.headers["location"] == f"/jobs/{job['id']}" and job["state"] in ("queued", "running")
    assert job["kind"] == "text" and job["bytes"] == len(text.encode()) and job["doc_ids"] == []
    done = follow(client, job, team)
    assert done["state"] == "done" and done["error"] is None, done
    assert done["passages_done"] == done["passages_total"] > 1 and done["eta_seconds"] is None
    assert done["elapsed_seconds"] > 0 and done["finished_at"] >= done["started_at"]
    stored = client.get(f"/documents/{done['doc_ids'][0]}", headers=team).json()
    assert stored["title"] == "Kite minutes" and stored["metadata"]["y"] == 1
    asked = {"question": "Who is the Zorblax treasurer?", "collections": ["team"]}
    answer = client.post("/ask", json=asked, headers=team).json()
    assert done["doc_ids"][0] in {p["doc_id"] for p in answer["passages"]}
    assert done["documents"] == [{"doc_id": stored["doc_id"], "title": "Kite minutes",
                                  "created": True, "file": None}]  # fmt: skip


def test_wait_decides_and_small_writes_stay_as_they_were(world):
    client, team = world["client"], world["team"]
    small = {"text": "Gulls\n\nHerring gulls nest on roofs.", "collection": "team"}
    r = client.post("/documents", json=small, headers=team)
    assert r.status_code == 201 and r.json()["created"], "synchronous, as before"
    r = client.post("/documents", json=small, headers=team, params={"wait": "false"})
    assert r.status_code == 202
    assert follow(client, r.json(), team)["documents"][0]["created"] is False, "already there"
    long = {"text": many_sentences(THRESHOLD * 2, seed=12), "collection": "team"}
    r = client.post("/documents", json=long, headers=team, params={"wait": "true"})
    assert r.status_code == 201 and r.json()["created"]
    files = [("files", ("terns.txt", b"Terns\n\n" + b"Arctic terns fly far. " * 150, "text/plain"))]
    r = client.post("/documents/files", files=files, data={"collection": "team"}, headers=team)
    assert r.status_code == 202 and r.json()["files"] == ["terns.txt"]
    done = follow(client, r.json(), team)
    assert done["state"] == "done" and done["documents"][0]["file"] == "terns.txt"


def test_a_job_of_bad_files_fails_with_each_reason(world):
    client, team = world["client"], world["team"]
    files = [("files", ("a.txt", b"", "text/plain")), ("files", ("b.exe", b"MZ", "text/plain"))]
    r = client.post(
        "/documents/files", files=files, data={"collection": "team"}, headers=team,
        params={"wait": "false"},
    )  # fmt: skip
    done = follow(client, r.json(), team)
    assert done["state"] == "failed" and done["status"] == done["errors"][0]["status"] >= 400
    assert [e["file"] for e in done["errors"]] == ["a.txt", "b.exe"] and "a.txt" in done["error"]
    assert done["errors"][1]["status"] == 415


def test_bad_input_is_still_refused_at_once(world):
    client, team = world["client"], world["team"]
    before = len(client.get("/jobs", headers=team).json()["jobs"])
    wait = {"wait": "false"}
    cases = [
        ({"text": "x", "collection": "team", "metadata": {"bad key": 1}}, 422),
        ({"text": "x", "collection": "other"}, 404),
        ({"text": "x" * (5 * 1024 * 1024 + 1), "collection": "team"}, 413),
    ]
    for body, status in cases:
        r = client.post("/documents", json=body, headers=team, params=wait)
        assert r.status_code == status and "Traceback" not in r.text, (status, r.text[:200])
    r = client.post("/documents", json={"text": "x"}, headers=world["reader"], params=wait)
    assert r.status_code == 403
    assert len(client.get("/jobs", headers=team).json()["jobs"]) == before, "no job made"


def test_a_job_is_seen_only_by_keys_that_could_write_there(world):
    client, team = world["client"], world["team"]
    body = {"text": "Owls\n\nOwls hunt at night.", "collection": "team"}
    job = client.post("/documents", json=body, headers=team, params={"wait": "false"}).json()
    follow(client, job, team)
    unknown = "0" * 32
    for method in ("GET", "DELETE"):
        theirs = client.request(method, f"/jobs/{job['id']}", headers=world["other"])
        never = client.request(method, f"/jobs/{unknown}", headers=world["other"])
        assert theirs.status_code == never.status_code == 404
        assert theirs.json()["detail"].replace(job["id"], unknown) == never.json()["detail"]
    listed = client.get("/jobs", headers=world["other"]).json()["jobs"]
    assert all(j["collection"] == "other" for j in listed) and job["id"] not in str(listed)
    assert job["id"] in {j["id"] for j in client.get("/jobs", headers=team).json()["jobs"]}
    assert job["id"] in {
        j["id"] for j in client.get("/jobs", headers=world["admin"]).json()["jobs"]
    }
    assert client.get(f"/jobs/{job['id']}", headers=world["reader"]).status_code == 403
    assert client.get("/jobs").status_code == 401


def test_cancel_a_queued_and_a_running_job(world):
    client, team = world["client"], world["team"]
    wait = {"wait": "false"}
    count = len(client.get("/documents", headers=team).json()["documents"])
    long = {"text": many_sentences(60_000, seed=13), "collection": "team"}
    running = client.post("/documents", json=long, headers=team, params=wait).json()
    queued = client.post("/documents", json={**long, "text": "Later\n\nA later text."},
                         headers=team, params=wait).json()  # fmt: skip
    r = client.delete(f"/jobs/{queued['id']}", headers=team)
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    deadline = time.monotonic() + 120
    while client.get(f"/jobs/{running['id']}", headers=team).json()["passages_done"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    r = client.delete(f"/jobs/{running['id']}", headers=team)
    assert r.status_code == 202 and r.json()["cancel_requested"], r.text
    ended = follow(client, r.json(), team, seconds=30)
    assert ended["state"] == "cancelled" and ended["doc_ids"] == []
    assert len(client.get("/documents", headers=team).json()["documents"]) == count
    r = client.delete(f"/jobs/{running['id']}", headers=team)
    assert r.status_code == 409 and "already finished (cancelled)" in r.json()["detail"]


def test_a_5_mb_upload_is_answered_within_a_second(world):
    client, team = world["client"], world["admin"]
    data = many_sentences(5_200_000, seed=14).encode()
    files = [("files", ("report.txt", data, "text/plain"))]
    t0 = time.perf_counter()
    r = client.post("/documents/files", files=files, headers=team)
    took = time.perf_counter() - t0
    assert r.status_code == 202 and took < 1.5, (r.status_code, took)
    assert r.json()["bytes"] == len(data)
    assert client.delete(f"/jobs/{r.json()['id']}", headers=team).status_code in (200, 202)
