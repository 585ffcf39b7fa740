"""The HTTP API through FastAPI's TestClient over a real pipeline."""

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app

pytestmark = pytest.mark.model

LOCAL = ("127.0.0.1", 40000)


@pytest.fixture
def service(backend, settings, make_pipeline):
    """A seeded pipeline of its own on ``backend``, for a test that writes."""
    if backend != "sqlite":
        settings = settings.model_copy(update={"store": backend})
    pipeline = make_pipeline(settings)
    assert pipeline.ensure_index() == 3
    return pipeline


@pytest.fixture(scope="module")
def client(shared_service):
    """One client over the shared seeded pipeline, for the tests that only read."""
    with TestClient(create_app(shared_service.settings, shared_service), client=LOCAL) as c:
        yield c


@pytest.fixture
def own_client(service):
    """A client over a pipeline of its own, for a test that writes."""
    with TestClient(create_app(service.settings, service), client=LOCAL) as c:
        yield c


def test_ask_returns_answer_with_cited_offsets(client):
    r = client.post("/ask", json={"question": "Where was Kim invited?"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"question", "answer", "confidence", "answers", "passages", "took_ms"}
    assert body["answer"] == "Moscow"
    assert 0 <= body["confidence"] <= 1
    top = body["answers"][0]
    assert len({s["doc_id"] for s in top["sources"]}) >= 2
    for c in top["sources"]:
        doc = client.get(f"/documents/{c['doc_id']}").json()
        assert doc["text"][c["start"] : c["end"]] == c["text"]
        assert doc["text"][c["answer_start"] : c["answer_end"]] == "Moscow"
    assert len(body["passages"]) == 3  # RAG_TOP_K
    assert set(body["passages"][0]) == {
        "doc_id",
        "title",
        "text",
        "start",
        "end",
        "answer_start",
        "answer_end",
        "score",
        "pages",
        "location",
    }
    assert body["passages"][0]["pages"] is None, "PDF pages only"
    assert body["passages"][0]["location"] is None, "a plain text has no structure"


def test_ask_says_where_the_time_went(client):
    r = client.post("/ask", json={"question": "Who met Kim Jong Un in Pyongyang?"})
    stages = dict(part.strip().split(";dur=") for part in r.headers["server-timing"].split(","))
    assert set(stages) >= {"embed", "dense", "lexical", "fetch", "read", "merge", "serialise"}
    assert all(float(v) >= 0 for v in stages.values())
    assert r.json()["timings_ms"]["read"] == float(stages["read"])


def test_a_follow_up_is_answered_from_its_history(client):
    history = [{"question": "Where was Kim invited?", "answer": "Moscow"}]
    r = client.post("/ask", json={"question": "Who invited him?", "history": history})
    assert r.status_code == 200
    body = r.json()
    assert body["question"] == "Who invited him?"
    assert body["resolved_question"] == "Who invited Kim?"
    assert "Lavrov" in body["answer"]
    alone = client.post("/ask", json={"question": "Where was Kim invited?", "history": history})
    assert alone.json()["resolved_question"] == "Where was Kim invited?"
    fresh = client.post("/ask", json={"question": "Where was Kim invited?"}).json()
    assert fresh["resolved_question"] == fresh["question"]


@pytest.mark.parametrize(
    "history",
    [
        [{"question": "Where?", "answer": "Moscow"}] * 11,
        [{"question": "", "answer": None}],
        [{"answer": "Moscow"}],
        [{"question": "Where?", "answer": 3}],
        [{"question": "Where?", "answer": "x" * 2001}],
        [{"question": "Where?", "extra": 1}],
        "Where was Kim invited?",
    ],
)
def test_bad_histories_get_422(client, history):
    r = client.post("/ask", json={"question": "Who invited him?", "history": history})
    assert r.status_code == 422 and r.json()["detail"]


def test_top_k_limits_passages(client):
    r = client.post("/ask", json={"question": "Who is Ri Yong-ho?", "top_k": 2})
    assert r.status_code == 200 and len(r.json()["passages"]) == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"question": ""},
        {"question": "   "},
        {"question": 42},
        {"question": "x" * 2001},
        {"question": "ok?", "top_k": 0},
        {"question": "ok?", "top_k": 51},
        {"question": "ok?", "extra": 1},
        ["Where?"],
    ],
)
def test_bad_ask_bodies_get_422_with_a_message(client, body):
    r = client.post("/ask", json=body)
    assert r.status_code == 422
    assert r.json()["detail"]


def test_invalid_json_is_a_4xx(client):
    r = client.post("/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_health_and_documents(client):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["documents"] == 3 and health["chunks"] >= 6
    docs = client.get("/documents").json()["documents"]
    assert {d["doc_id"] for d in docs} == {
        "000_93ec320acb77f160",
        "001_39e03732451eb7f9",
        "003_8b6a4e8868c82fd7",
    }
    assert client.get("/documents/nope").status_code == 404
    assert client.get("/documents/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_add_ask_delete_round_trip(own_client):
    r = own_client.post(
        "/documents",
        json={
            "title": "Kites",
            "text": "The Zorblax kite festival is held every spring in Tartu, Estonia.",
        },
    )
    assert r.status_code == 201
    doc_id = r.json()["doc_id"]
    dup = own_client.post(
        "/documents",
        json={"text": "The Zorblax kite festival is held every spring in Tartu, Estonia."},
    )
    assert dup.status_code == 200 and dup.json() == {**r.json(), "created": False}
    answer = own_client.post("/ask", json={"question": "Where is the Zorblax kite festival held?"})
    assert answer.json()["answer"].startswith("Tartu")
    assert own_client.get(f"/documents/{doc_id}").json()["title"] == "Kites"
    assert own_client.delete(f"/documents/{doc_id}").status_code == 204
    assert own_client.delete(f"/documents/{doc_id}").status_code == 404
    after = own_client.post("/ask", json={"question": "Where is the Zorblax kite festival held?"})
    assert all(p["doc_id"] != doc_id for p in after.json()["passages"])


def test_file_upload(own_client):
    files = {"files": ("notes.md", b"# Notes\n\nThe secret word is pelican.", "text/markdown")}
    r = own_client.post("/documents/files", files=files)
    assert r.status_code == 201
    (added,) = r.json()["documents"]
    assert added["file"] == "notes.md" and added["created"] and r.json()["errors"] == []
    assert own_client.get(f"/documents/{added['doc_id']}").json()["title"] == "Notes", (
        "a Markdown title without its #"
    )
    again = own_client.post("/documents/files", files=files)
    assert again.status_code == 200 and not again.json()["documents"][0]["created"]
    bad = own_client.post("/documents/files", files={"files": ("a.exe", b"MZ\x90", "x/y")})
    assert bad.status_code == 415 and "a.exe" in bad.json()["detail"]
    broken = own_client.post(
        "/documents/files", files={"files": ("a.pdf", b"%PDF", "application/pdf")}
    )
    assert broken.status_code == 422 and "not a readable PDF" in broken.json()["detail"]
    latin = own_client.post(
        "/documents/files", files={"files": ("a.txt", "café".encode("latin-1"))}
    )
    assert latin.status_code == 422 and "UTF-8" in latin.json()["detail"]
    empty = own_client.post("/documents", json={"text": "   "})
    assert empty.status_code == 422
    plain = own_client.post("/documents", content=b"hello", headers={"content-type": "text/plain"})
    assert plain.status_code == 415
    form = own_client.post("/documents", files=files)
    assert form.status_code == 415 and "/documents/files" in form.json()["detail"]


def test_control_characters_in_file_names_are_stripped(own_client):
    """A NUL or a line break in a file name would forge log lines and reach the page: the
    stored source, the reply and the error name the file without them."""
    files = {
        "files": (
            "tea\x1b[31m\x7fnotes.md",
            b"# Tea\n\nOolong grows in Fujian.",
            "text/markdown",
        )
    }
    r = own_client.post("/documents/files", files=files)
    assert r.status_code == 201, r.text
    (added,) = r.json()["documents"]
    assert added["file"] == "tea[31mnotes.md"
    source = own_client.get(f"/documents/{added['doc_id']}").json()["source"]
    assert source == "tea[31mnotes.md"
    bad = own_client.post("/documents/files", files={"files": ("x\x7f\x1by.exe", b"MZ", "x/y")})
    assert bad.status_code == 415 and "xy.exe" in bad.json()["detail"]


def test_several_files_are_indexed_each_on_its_own(own_client):
    files = [
        ("files", ("kites.txt", b"The Zorblax kite festival is held in Tartu.", "text/plain")),
        ("files", ("bad.pdf", b"%PDF-1.4", "application/pdf")),
        ("files", ("photo.png", b"\x89PNG\r\n", "image/png")),
        ("files", ("owls.md", b"# Owls\n\nSnowy owls nest on the tundra.", "text/markdown")),
    ]
    r = own_client.post("/documents/files", files=files)
    assert r.status_code == 201
    assert [d["file"] for d in r.json()["documents"]] == ["kites.txt", "owls.md"]
    errors = [(e["file"], e["status"]) for e in r.json()["errors"]]
    assert errors == [("bad.pdf", 422), ("photo.png", 415)]
    titled = own_client.post("/documents/files", files=files[:1], data={"title": "Festivals"})
    assert titled.status_code == 200, "the same content again"
    answer = own_client.post("/ask", json={"question": "Where do snowy owls nest?"}).json()
    assert "tundra" in answer["answer"]


def test_writes_from_other_hosts_are_refused_without_a_key(shared_service):
    app = create_app(shared_service.settings, shared_service)
    with TestClient(app, client=("203.0.113.9", 1)) as remote:
        assert remote.post("/documents", json={"text": "x y z"}).status_code == 403
        assert remote.delete("/documents/000_93ec320acb77f160").status_code == 403
        assert remote.get("/documents").status_code == 200


def test_api_key_is_required_for_writes_when_set(seeded):
    settings = seeded.settings.model_copy(update={"api_key": SecretStr("s3cret")})
    seeded.settings = settings
    with TestClient(create_app(settings, seeded), client=("203.0.113.9", 1)) as c:
        assert c.post("/documents", json={"text": "keyed doc"}).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert c.post("/documents", json={"text": "keyed doc"}, headers=wrong).status_code == 401
        ok = {"Authorization": "Bearer s3cret"}
        r = c.post("/documents", json={"text": "keyed doc"}, headers=ok)
        assert r.status_code == 201
        assert c.delete(f"/documents/{r.json()['doc_id']}", headers=ok).status_code == 204
        assert c.post("/ask", json={"question": "Where was Kim invited?"}).status_code == 200


def test_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/ask", "/documents", "/documents/{doc_id}", "/health"} <= set(spec["paths"])


def test_validation_errors_are_bounded_and_types_strict(client):
    flood = {"question": "Where?", **{f"k{i}": i for i in range(5000)}}
    r = client.post("/ask", json=flood)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert len(detail) == 11 and detail[-1]["msg"] == "and 4990 more"
    assert client.post("/ask", json={"question": "Where?", "top_k": True}).status_code == 422
    assert client.post("/ask", json={"question": 3}).status_code == 422
    assert client.post("/ask", json={"question": "Where?", "top_k": 2.0}).status_code == 200
    big = client.post("/ask", json={"question": "x" * 70_000})
    assert big.status_code == 413, "a question body is small; a large one is refused unread"


def test_head_health_and_the_allow_header_of_a_405(client):
    assert client.head("/health").status_code == 200
    r = client.post("/documents/some-id")
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) >= {"GET", "DELETE"}
    assert client.options("/documents/files").headers["allow"] == "POST"


def test_cross_site_writes_without_a_key_are_refused(own_client):
    doc = {"text": "Text about the Velmor mill, written from elsewhere."}
    cross = own_client.post("/documents", json=doc, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    other = own_client.post("/documents", json=doc, headers={"Origin": "http://localhost:9"})
    assert other.status_code == 403
    form = own_client.post(
        "/documents/files",
        files={"files": ("a.txt", b"Forged upload text.")},
        headers={"Origin": "http://evil.example"},
    )
    assert form.status_code == 403
    page = own_client.post(
        "/documents",
        json=doc,
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert page.status_code == 201, "the service's own page keeps working"
    assert (
        own_client.delete(
            f"/documents/{page.json()['doc_id']}", headers={"Sec-Fetch-Site": "same-site"}
        ).status_code
        == 403
    )


def test_a_full_disk_gives_507_and_health_stays_honest(seeded):
    db = seeded.store.db  # SQLite's own "disk is full", through max_page_count
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {pages}")
    text = " ".join(f"word{i}" for i in range(3000))
    with TestClient(create_app(seeded.settings, seeded), client=LOCAL) as client:
        r = client.post("/documents", json={"title": "Too big", "text": text})
        assert r.status_code == 507 and "disk is full" in r.json()["detail"]
        health = client.get("/health").json()
    assert health["status"] == "ok" and health["documents"] == 3, "nothing half-written"


def test_metrics_count_requests_answers_and_stages(shared_service):
    # an app of its own: its counters start at zero
    app = create_app(shared_service.settings, shared_service)
    with TestClient(app, client=LOCAL) as client:
        client.post("/ask", json={"question": "Where was Kim invited?"})
        client.post("/ask", json={"question": "What is the tallest mountain in Africa?"})
        client.get("/documents/nope")
        r = client.get("/metrics", headers={"X-Request-ID": "trace-me-1"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert r.headers["x-request-id"] == "trace-me-1"
        text = r.text
        assert 'rag_http_requests_total{method="POST",route="/ask",status="200"} 2.0' in text
        assert 'route="/documents/{doc_id}",status="404"' in text, "templates, never ids"
        assert 'rag_answers_total{outcome="answered"} 1.0' in text
        assert 'rag_answers_total{outcome="abstained"} 1.0' in text
        assert 'rag_ask_stage_seconds_count{stage="read"} 2.0' in text
        assert "rag_index_documents 3.0" in text and "rag_questions_waiting 0.0" in text
        assert len(client.get("/health").headers["x-request-id"]) == 32


def test_chunked_oversize_is_413_and_invalid_json_422(client, shared_service):
    limit = shared_service.settings.max_upload_bytes

    def chunks():
        for _ in range(limit // 65536 + 2):
            yield b'{"text": "' + b"x" * 65536

    r = client.post("/documents", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    bad = client.post(
        "/documents", content=b'{"text": ', headers={"content-type": "application/json"}
    )
    assert bad.status_code == 422
    assert (
        client.post("/ask", content=b"{", headers={"content-type": "application/json"}).status_code
        == 422
    )
