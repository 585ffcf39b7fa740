"""No leak through any route: a key scoped to one collection learns nothing of another.

Canary documents, metadata and feedback sit in collection ``secret``; a key that may
write to ``team`` only walks every route of the OpenAPI schema and every MCP tool, each
asked once about the canary's id or collection and once about an id or collection that
never existed. The two answers must be identical (status and body, the asked name put
back), and no answer may hold the canary's text, metadata, id or collection. A route or
tool added without a case here fails the test, as does a route that declares no scope.
Run on both stores.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from fastapi.testclient import TestClient
from mcp import Client

from api.access import undeclared_routes
from api.app import create_app
from api.mcp import create_mcp
from rag.service.keys import KeyRing

pytestmark = pytest.mark.model

LOCAL = ("127.0.0.1", 40000)
CANARY = "Quokkavault"
SECRET_TEXT = f"{CANARY} report\n\nThe {CANARY} vault code is 4711, kept in Reykjavik."
QUESTION = "What is the vault code kept in the report?"
NEVER = "never-was"  # a collection that does not exist
TOOLS = {"ask", "search", "get_document", "add_document", "collections"}


@pytest.fixture(scope="module")
def world(shared_service, tmp_path_factory):
    """The app over the module's pipeline, a keys file with an admin key and a key that
    may write to ``team``, and the canaries (added by the admin)."""
    keys = tmp_path_factory.mktemp("leak-keys") / "keys.sqlite3"
    ring = KeyRing(keys)
    _, admin = ring.create("admin", "*", name="admin")
    _, team = ring.create("write", ["team"], name="team writer")
    settings = shared_service.settings.model_copy(update={"keys_file": keys})
    with TestClient(create_app(settings, shared_service), client=LOCAL) as client:
        as_admin = {"Authorization": f"Bearer {admin}"}
        body = {"text": SECRET_TEXT, "collection": "secret", "metadata": {"label": CANARY}}
        secret_id = client.post("/documents", json=body, headers=as_admin).json()["doc_id"]
        start = SECRET_TEXT.index("4711")
        verdict = {"question": QUESTION, "verdict": "corrected", "doc_id": secret_id}
        verdict.update(start=start, end=start + 4)
        assert client.post("/feedback", json=verdict, headers=as_admin).status_code == 201
        mine = {"text": "Team notes\n\nThe team meets on Tuesdays.", "collection": "team"}
        as_team = {"Authorization": f"Bearer {team}"}
        assert client.post("/documents", json=mine, headers=as_team).status_code == 201
        _canary_job(client, body, as_admin)
        yield client, as_team, as_admin, secret_id, settings
        client.delete(f"/documents/{secret_id}", headers=as_admin)


def _canary_job(client: TestClient, body: dict, headers: dict) -> str:
    """A job of the canary's collection (its text again: nothing new is stored), ended."""
    r = client.post("/documents", json=body, headers=headers, params={"wait": "false"})
    assert r.status_code == 202, r.text
    for _ in range(600):
        if client.get(f"/jobs/{r.json()['id']}", headers=headers).json()["state"] == "done":
            return r.json()["id"]
        time.sleep(0.1)
    raise AssertionError("the canary job did not end")


def _cases() -> dict[tuple[str, str], list[dict]]:
    """Requests for every route: ``{X}`` is the secret id or collection, then an unknown
    one (``{J}``: the canary job's id). Route templates with ``{…}`` get them in the path."""
    ask = {"question": QUESTION}
    upload = {"files": [("files", ("x.txt", b"Some text.", "text/plain"))]}
    return {
        ("POST", "/ask"): [
            {"json": ask},
            {"json": {**ask, "collections": ["{C}"]}},
            {"json": {**ask, "filters": {"field": "collection", "operator": "==", "value": "{C}"}}},
        ],
        ("GET", "/collections"): [{}],
        ("GET", "/collections/{name}/fields"): [{"path": {"name": "{C}"}}],
        ("GET", "/documents"): [{}, {"params": {"collection": "{C}"}}],
        ("POST", "/documents"): [
            {"json": {"text": "Some text.", "collection": "{C}"}},
            {"json": {"text": "Some text.", "collection": "{C}"}, "params": {"wait": "false"}},
        ],
        ("POST", "/documents/files"): [{**upload, "data": {"collection": "{C}"}}],
        ("GET", "/documents/{doc_id}"): [{"path": {"doc_id": "{D}"}}],
        ("DELETE", "/documents/{doc_id}"): [{"path": {"doc_id": "{D}"}}],
        ("POST", "/feedback"): [
            {
                "json": {
                    "question": QUESTION,
                    "verdict": "right",
                    "doc_id": "{D}",
                    "start": 0,
                    "end": 4,
                }
            },
            {"json": {"question": QUESTION, "verdict": "unanswerable", "collection": "{C}"}},
        ],
        ("GET", "/feedback"): [{}],
        ("GET", "/health"): [{}],
        ("GET", "/metrics"): [{}],
        ("GET", "/keys"): [{}],
        ("POST", "/keys"): [{"json": {"scope": "read", "collections": ["{C}"]}}],
        ("DELETE", "/keys/{key_id}"): [{"path": {"key_id": "{D}"}}],
        ("GET", "/jobs"): [{}],
        ("GET", "/jobs/{job_id}"): [{"path": {"job_id": "{J}"}}],
        ("DELETE", "/jobs/{job_id}"): [{"path": {"job_id": "{J}"}}],
    }


def _fill(value, secret_id: str, collection: str, job_id: str):
    text = json.dumps(value).replace("{D}", secret_id).replace("{C}", collection)
    return json.loads(text.replace("{J}", job_id))


def _send(client, method, template, case, headers, doc_id, collection, job_id):
    case = _fill({k: v for k, v in case.items() if k != "files"}, doc_id, collection, job_id)
    path = template
    for name, value in case.pop("path", {}).items():
        path = path.replace("{" + name + "}", value)
    files = [("files", ("x.txt", b"Some text.", "text/plain"))] if "data" in case else None
    r = client.request(method, path, headers=headers, files=files, **case)
    return r.status_code, _shown(r.text.replace(job_id, doc_id), doc_id, collection)


def _shown(text: str, doc_id: str, collection: str) -> str:
    """A response as compared: the asked id and collection put back, times left out."""
    try:
        found = json.loads(text)
    except ValueError:
        found = None
    if isinstance(found, dict):
        for varying in ("took_ms", "timings_ms"):
            found.pop(varying, None)
        text = json.dumps(found, sort_keys=True)
    return text.replace(doc_id, "<asked>").replace(f"'{collection}'", "'<asked>'")


def test_every_route_declares_its_scope(world):
    client = world[0]
    assert undeclared_routes(client.app.routes) == []


def test_a_scoped_key_learns_nothing_of_another_collection(world):
    client, as_team, as_admin, secret_id, _ = world
    unknown_id = secret_id.split(":")[0] + ":" + "0" * 16
    jobs = client.get("/jobs", headers=as_admin).json()["jobs"]
    job_id = next(job["id"] for job in jobs if job["collection"] == "secret")
    cases = _cases()
    schema = client.get("/openapi.json").json()
    routes = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops if m != "head"}
    routes.discard(("POST", "/mcp"))
    assert routes == set(cases), "a new route needs a case in this test (and a scope)"
    for (method, template), requests in cases.items():
        for case in requests:
            real = _send(client, method, template, case, as_team, secret_id, "secret", job_id)
            fake = _send(client, method, template, case, as_team, unknown_id, NEVER, "0" * 32)
            assert real == fake, (method, template, case, real, fake)
            for leaked in (CANARY, "4711", secret_id, '"secret"'):
                assert leaked not in real[1], (method, template, leaked, real)


def test_health_is_public_and_counts_nothing_once_keys_exist(world):
    client, as_team, _, _, _ = world
    for headers in ({}, as_team):
        health = client.get("/health", headers=headers).json()
        assert health["documents"] is None and health["chunks"] is None, health
    mine = client.get("/collections", headers=as_team).json()["collections"]
    assert [c["name"] for c in mine] == ["team"] and mine[0]["documents"] == 1


def test_metrics_are_labelled_by_route_templates(world):
    client, _, as_admin, secret_id, _ = world
    client.get(f"/documents/{secret_id}", headers=as_admin)
    text = client.get("/metrics", headers=as_admin).text
    assert "/documents/{doc_id}" in text and secret_id not in text


def _mcp_calls(secret_id: str, collection: str) -> list[tuple[str, dict]]:
    return [
        ("ask", {"question": QUESTION}),
        ("ask", {"question": QUESTION, "collections": [collection]}),
        ("search", {"query": "vault code report"}),
        (
            "search",
            {
                "query": "vault code",
                "filters": {"field": "collection", "operator": "==", "value": collection},
            },
        ),
        ("get_document", {"doc_id": secret_id}),
        ("add_document", {"text": "Some text.", "collection": collection}),
        ("collections", {}),
    ]


async def _walk_tools(client: Client, secret_id: str, unknown_id: str) -> None:
    listed = await client.list_tools()
    assert {t.name for t in listed.tools} == TOOLS, "a new tool needs a case in this test"
    real_calls = _mcp_calls(secret_id, "secret")
    fake_calls = _mcp_calls(unknown_id, NEVER)
    for (name, real_args), (_, fake_args) in zip(real_calls, fake_calls, strict=True):
        real = await client.call_tool(name, real_args)
        fake = await client.call_tool(name, fake_args)
        shown = [json.dumps(r.model_dump(mode="json")) for r in (real, fake)]
        shown = [
            s.replace(secret_id, "<id>")
            .replace(unknown_id, "<id>")
            .replace("'secret'", "'<c>'")
            .replace(f"'{NEVER}'", "'<c>'")
            for s in shown
        ]
        assert real.is_error == fake.is_error, (name, shown)
        for leaked in (CANARY, "4711", '\\"secret\\"'):
            assert leaked not in shown[0], (name, leaked, shown[0])
        if real.is_error:
            assert shown[0] == shown[1], (name, shown)


class _HttpTools:
    """The MCP tools over streamable HTTP through the app's own client: JSON-RPC posted to
    /mcp as an MCP client posts it (the server is stateless, JSON responses)."""

    def __init__(self, client: TestClient, headers: dict) -> None:
        self.client = client
        self.headers = {**headers, "Accept": "application/json, text/event-stream"}
        self._rpc(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "leak-test", "version": "1"},
            },
        )

    def _rpc(self, method: str, params: dict) -> dict:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        r = self.client.post("http://127.0.0.1:8000/mcp", json=body, headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()["result"]

    async def list_tools(self):
        from mcp.types import ListToolsResult

        return ListToolsResult.model_validate(self._rpc("tools/list", {}))

    async def call_tool(self, name: str, arguments: dict):
        from mcp.types import CallToolResult

        result = self._rpc("tools/call", {"name": name, "arguments": arguments})
        return CallToolResult.model_validate(result)


def test_mcp_over_http_with_a_scoped_key_learns_nothing(world):
    """The HTTP transport's tools with the scoped key, as the REST routes."""
    client, as_team, _, secret_id, _ = world
    unknown_id = secret_id.split(":")[0] + ":" + "0" * 16
    asyncio.run(_walk_tools(_HttpTools(client, as_team), secret_id, unknown_id))


def test_mcp_over_stdio_acts_as_its_key(world, shared_service):
    """``rag mcp`` with RAG_MCP_KEY acts as that key (the in-memory transport, which like
    stdio carries no HTTP request)."""
    _, as_team, _, secret_id, settings = world
    unknown_id = secret_id.split(":")[0] + ":" + "0" * 16
    team_key = as_team["Authorization"].split()[1]
    scoped = settings.model_copy(update={"mcp_key": team_key})
    shared_service.settings, original = scoped, shared_service.settings
    try:
        server = create_mcp(lambda: shared_service)

        async def session() -> None:
            async with Client(server) as c:
                await _walk_tools(c, secret_id, unknown_id)

        asyncio.run(session())
    finally:
        shared_service.settings = original
