"""POST and GET /feedback over a real pipeline, on both stores: stored, listed, used by the
next /ask, dropped with its document, checked, and refused to other sites without a key.

The module's pipeline is its own (``shared_service`` is per module): its feedback is on
questions no other test asks, and what a test adds it deletes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app

pytestmark = pytest.mark.model

LOCAL = ("127.0.0.1", 40000)
QUESTION = "Which city hosts the financial discussion?"


@pytest.fixture(scope="module")
def client(shared_service):
    with TestClient(create_app(shared_service.settings, shared_service), client=LOCAL) as c:
        yield c


def _span(client, words: str) -> dict:
    doc_id = client.get("/documents").json()["documents"][0]["doc_id"]
    text = client.get(f"/documents/{doc_id}").json()["text"]
    start = text.index(words)
    return {"doc_id": doc_id, "start": start, "end": start + len(words)}


def test_a_correction_is_stored_listed_and_answers_the_question_at_once(client):
    before = client.post("/ask", json={"question": QUESTION}).json()
    assert before["confirmed"] is False
    span = _span(client, "Vladivostok")
    body = {"question": QUESTION, "answer": before["answer"], "verdict": "corrected", **span}
    r = client.post("/feedback", json=body)
    assert r.status_code == 201, r.text
    stored = r.json()
    assert stored["text"] == "Vladivostok" and stored["created_at"] and stored["id"]
    assert stored["resolved_question"] == QUESTION
    assert stored in client.get("/feedback").json()["feedback"]

    after = client.post("/ask", json={"question": QUESTION.lower().rstrip("?")}).json()
    assert after["confirmed"] is True and after["answer"] == "Vladivostok"
    source = after["answers"][0]["sources"][0]
    assert (source["answer_start"], source["answer_end"]) == (span["start"], span["end"])


def test_deleting_the_document_drops_its_feedback(client):
    text = "Harbour notes\n\nThe Velmor ferry leaves from pier nine every morning."
    doc_id = client.post("/documents", json={"text": text}).json()["doc_id"]
    question = "Where does the Velmor ferry leave from?"
    start = text.index("pier nine")
    body = {"question": question, "verdict": "corrected", "doc_id": doc_id, "start": start}
    assert client.post("/feedback", json={**body, "end": start + 9}).status_code == 201
    assert client.post("/ask", json={"question": question}).json()["answer"] == "pier nine"
    assert client.delete(f"/documents/{doc_id}").status_code == 204
    assert all(f["doc_id"] != doc_id for f in client.get("/feedback").json()["feedback"])
    assert client.post("/ask", json={"question": question}).json()["confirmed"] is False


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"verdict": "maybe"}, 422, "literal_error"),
        ({"doc_id": "no-such-doc"}, 404, "no document with id 'no-such-doc'"),
        ({"end": 10**7}, 422, "0 <= start < end <="),
        ({"start": 5, "end": 5}, 422, "0 <= start < end <="),
        ({"start": -1}, 422, "greater_than_equal"),
        ({"start": True}, 422, "expected an integer"),
        ({"doc_id": ..., "start": ..., "end": ...}, 422, "needs doc_id, start and end"),
        ({"verdict": "wrong", "end": ...}, 422, "doc_id, start and end together"),
        ({"end": None}, 422, "a valid integer"),
        ({"extra": 1}, 422, "extra_forbidden"),
    ],
)
def test_bad_feedback_gets_a_clear_4xx_and_nothing_is_stored(client, change, status, says):
    before = client.get("/feedback").json()
    body = {"question": "A bad one?", "verdict": "corrected", **_span(client, "Vladivostok")}
    sent = {k: v for k, v in {**body, **change}.items() if v is not ...}  # ...: left out
    r = client.post("/feedback", json=sent)
    assert r.status_code == status
    assert says in str(r.json()["detail"])
    assert client.get("/feedback").json() == before


def test_feedback_from_another_site_or_machine_needs_the_key(client, shared_service):
    body = {"question": "Is this forged?", "verdict": "unanswerable"}
    cross = client.post("/feedback", json=body, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    app = create_app(shared_service.settings, shared_service)
    with TestClient(app, client=("203.0.113.9", 1)) as remote:
        assert remote.post("/feedback", json=body).status_code == 403
        assert remote.get("/feedback").status_code == 200
    keyed = shared_service.settings.model_copy(update={"api_key": SecretStr("s3cret")})
    plain, shared_service.settings = shared_service.settings, keyed
    try:
        with TestClient(create_app(keyed, shared_service), client=("203.0.113.9", 1)) as remote:
            assert remote.post("/feedback", json=body).status_code == 401
            ok = {"Authorization": "Bearer s3cret"}
            assert remote.post("/feedback", json=body, headers=ok).status_code == 201
    finally:
        shared_service.settings = plain
    listed = [f["question"] for f in client.get("/feedback").json()["feedback"]]
    assert listed.count("Is this forged?") == 1


def test_text_that_cannot_be_stored_is_refused_or_cleaned_never_a_500(client):
    send = {"headers": {"content-type": "application/json"}}
    lone = rb'{"question": "Lone \ud800 surrogate?", "verdict": "wrong"}'
    assert client.post("/feedback", content=lone, **send).status_code == 422
    raw = rb'{"question": "Control\u0000 \u0007 chars?", "verdict": "wrong", "answer": "x\u0001"}'
    r = client.post("/feedback", content=raw, **send)
    assert r.status_code == 201, r.text
    assert r.json()["question"] == "Control chars?" and r.json()["answer"] == "x"
