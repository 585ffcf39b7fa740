"""Bad input, floods and concurrent writes: each protection has a test that fails without
it (crashes: test_crash.py)."""

import asyncio
import json
import threading
import time
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from api.app import create_app
from api.limits import BodySizeLimit, InFlightLimit
from rag.core.settings import Settings
from rag.documents.ingest import make_document
from rag.reading.lexical import LexicalReader
from rag.service.pipeline import Pipeline
from tests.api.seeded import seeded_settings

LOCAL = ("127.0.0.1", 40000)


# ---------------------------------------------------------------- middlewares, no models


async def _slow_app(scope, receive, send):
    while (await receive()).get("more_body"):
        pass
    await asyncio.sleep(0.3)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_in_flight_limit_answers_503_with_retry_after():
    app = InFlightLimit(_slow_app, max_in_flight=2)

    async def flood():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await asyncio.gather(*(client.get("/ask") for _ in range(6)))

    responses = asyncio.run(flood())
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 200, 503, 503, 503, 503]
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"] == "1" and "busy" in busy.json()["detail"]
    assert app.in_flight == 0


def test_body_limit_applies_to_streamed_bodies_without_content_length():
    app = BodySizeLimit(_slow_app, max_bytes=1000)
    chunks_sent = []

    async def body():
        for _ in range(100):
            chunks_sent.append(1)
            yield b"x" * 100

    async def send():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            streamed = await client.post("/documents", content=body())
            declared = await client.post("/documents", content=b"x" * 1001)
            small = await client.post("/documents", content=b"x" * 1000)
            return streamed, declared, small

    streamed, declared, small = asyncio.run(send())
    assert streamed.status_code == 413 and declared.status_code == 413
    assert small.status_code == 200


# ---------------------------------------------------------------- the API with a real pipeline


def _light(settings: Settings, embedder) -> Pipeline:
    """Real embedder, FAISS and SQLite; the model-free reader keeps fuzzing fast."""
    p = Pipeline(settings, reader=LexicalReader(), embedder=embedder)
    p.load()
    p.ensure_index()
    return p


@pytest.fixture
def light_pipeline(settings, embedder):
    """A light pipeline of its own, for a test that writes or changes it."""
    p = _light(settings, embedder)
    yield p
    p.close()


@pytest.fixture(scope="module")
def client(embedder, tmp_path_factory):
    """One client over one light pipeline, for the tests that only read."""
    p = _light(seeded_settings(tmp_path_factory.mktemp("light")), embedder)
    with TestClient(create_app(p.settings, p), client=LOCAL) as c:
        yield c
    p.close()


@pytest.fixture
def own_client(light_pipeline):
    with TestClient(create_app(light_pipeline.settings, light_pipeline), client=LOCAL) as c:
        yield c


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=8,
)
ask_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"question": st.text(max_size=300)},
        optional={"top_k": st.integers(-5, 60) | json_values, "extra": json_values},
    ),
)


def _no_5xx(client, body) -> None:
    r = client.post("/ask", content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code in (200, 422), r.text
    r.json()


@pytest.mark.model
@hyp_settings(max_examples=500, deadline=None)
@given(body=ask_bodies)
def test_fuzzed_ask_bodies_never_get_a_5xx(client, body):
    _no_5xx(client, body)


@hyp_settings(max_examples=100, deadline=None)
@given(body=ask_bodies)
def _fuzz_again(client, body):
    _no_5xx(client, body)


@pytest.mark.model
@hyp_settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.binary(max_size=300),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "multipart/form-data; boundary=x", ""]
    ),
)
def test_fuzzed_raw_bodies_never_get_a_5xx(own_client, raw, content_type):
    for path in ("/ask", "/documents"):
        r = own_client.post(path, content=raw, headers={"content-type": content_type})
        assert 400 <= r.status_code < 500 or r.status_code in (200, 201), (path, r.text)


@pytest.mark.model
@hyp_settings(max_examples=300, deadline=None)
@given(doc_id=st.text(max_size=40))
def test_fuzzed_document_ids_are_404_or_found(client, doc_id):
    r = client.get(f"/documents/{quote(doc_id, safe='')}")
    assert r.status_code in (200, 404, 405), r.text


@pytest.mark.model
def test_service_still_answers_after_fuzzing(client):
    _fuzz_again(client)  # more, after the fuzzing above on the same client
    r = client.post("/ask", json={"question": "Where was Kim invited?"})
    assert r.status_code == 200 and r.json()["passages"]


@pytest.mark.model
def test_control_characters_and_odd_unicode_in_questions(client):
    for q in [
        "Where\x00 was\x1b Kim\x7f invited?",
        "\u202eWhere was Kim invited?",
        "Kim 🇰🇵 invited?",
        "ⅯⅯⅩⅩ?",
        "\ufeff?",
    ]:
        r = client.post("/ask", json={"question": q})
        assert r.status_code == 200, (q, r.text)


@pytest.mark.model
def test_document_bad_inputs(own_client):
    big = own_client.post(
        "/documents",
        content=b"x" * (10 * 1024 * 1024 + 1),
        headers={"content-type": "application/json"},
    )
    assert big.status_code == 413
    assert own_client.post("/documents", json={"text": "\x00\x01\x7f"}).status_code == 422
    binary = own_client.post("/documents/files", files={"files": ("a.txt", b"\x00\x01\x02binary")})
    assert binary.status_code == 422 and "binary" in binary.json()["detail"]
    for bad_id in ["..", "a/b", "%2e%2e", "x" * 300]:
        assert own_client.delete(f"/documents/{bad_id}").status_code in (404, 405)
    first = own_client.post("/documents", json={"text": "Unique content about the Velmor mill."})
    again = own_client.post(
        "/documents/files", files={"files": ("same.txt", b"Unique content about the Velmor mill.")}
    )
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["documents"][0]["doc_id"] == first.json()["doc_id"]
    listed = [
        d
        for d in own_client.get("/documents").json()["documents"]
        if d["doc_id"] == first.json()["doc_id"]
    ]
    assert len(listed) == 1 and listed[0]["chunks"] == 1


@pytest.mark.model
def test_ask_time_limit_gives_503_and_the_queued_question_is_dropped(light_pipeline, monkeypatch):
    from rag.core import compute

    answered: list[str] = []
    real_answer_many = light_pipeline.answerer.run

    def recording(items):
        answered.extend(item[0] for item in items)
        return real_answer_many(items)

    monkeypatch.setattr(light_pipeline.answerer, "run", recording)
    settings = light_pipeline.settings.model_copy(update={"request_timeout": 0.2})
    light_pipeline.settings = settings
    with TestClient(create_app(settings, light_pipeline), client=LOCAL) as c:
        busy = compute.submit(time.sleep, 1.0)  # the compute thread is taken for a second
        r = c.post("/ask", json={"question": "Where was Kim invited?"})
        assert r.status_code == 503 and r.headers["retry-after"]
        assert "no answer within 0.2 s" in r.json()["detail"]
        busy.result()
        ok = c.post("/ask", json={"question": "Where is the festival held?"})
        assert ok.status_code == 200
    # the question whose caller had gone was never read
    assert answered == ["Where is the festival held?"]


@pytest.mark.model
def test_readers_see_a_consistent_index_while_writers_add_and_delete(light_pipeline):
    p = light_pipeline
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                result = p.ask("Where is the festival held?")
                for c in result.passages:
                    assert c.end > c.start and c.text
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    added = []
    for i in range(12):
        doc, _ = p.add_document(
            make_document(f"Festival {i}\n\nThe festival number {i} is held in Town{i}.")
        )
        added.append(doc.doc_id)
        if i % 2:
            assert p.delete_document(added[i - 1])
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    docs, chunks = p.store.counts()
    assert p.store.vector_count() == chunks
    assert docs == 3 + 6


def test_the_stateless_mcp_endpoint_opens_no_event_stream(client):
    """GET /mcp held a read slot per open stream until the body timeout: 30 of them made
    every /ask a 503. Stateless, the server has nothing to stream, and says so (405, as
    the MCP spec allows) at once, while POST /mcp still answers."""
    refused = client.get("/mcp", headers={"accept": "text/event-stream"})
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"
    assert "stateless" in refused.json()["detail"]
    listed = client.post(
        "http://127.0.0.1:8000/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"accept": "application/json, text/event-stream"},
    )
    assert listed.status_code == 200 and "ask" in listed.text
