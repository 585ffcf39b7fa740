"""The MCP tools through the official SDK's own client: over stdio (``rag mcp``, a real
child process) and over streamable HTTP (``/mcp`` of a real ``rag serve``)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from benchmarks.server import Server
from tests.support.paths import ROOT

pytestmark = pytest.mark.server

TOOLS = {"ask", "search", "get_document", "add_document", "collections"}


def _text(result) -> str:
    return " ".join(getattr(part, "text", "") for part in result.content)


async def _check_the_tools(client: Client) -> None:
    listed = await client.list_tools()
    assert {t.name for t in listed.tools} == TOOLS
    assert all(t.description and t.output_schema for t in listed.tools)

    asked = await client.call_tool("ask", {"question": "Where was Kim invited?"})
    assert not asked.is_error
    data = asked.structured_content
    assert data["answer"] == "Moscow" and data["confidence"] > 0.5
    source = data["answers"][0]["sources"][0]
    document = await client.call_tool("get_document", {"doc_id": source["doc_id"]})
    text = document.structured_content["text"]
    assert text[source["answer_start"] : source["answer_end"]] == "Moscow"
    assert text[source["start"] : source["end"]] == source["text"]

    follow_up = {
        "question": "Who invited him?",
        "history": [{"question": "Where was Kim invited?", "answer": "Moscow"}],
    }
    resolved = (await client.call_tool("ask", follow_up)).structured_content
    assert resolved["resolved_question"] == "Who invited Kim?" and "Lavrov" in resolved["answer"]

    unknown = {"question": "What is the tallest mountain in Africa?"}
    abstained = await client.call_tool("ask", unknown)
    assert abstained.structured_content["answer"] is None, "not in the documents"

    found = await client.call_tool("search", {"query": "Lavrov Pyongyang talks", "top_k": 2})
    passages = found.structured_content["passages"]
    assert 1 <= len(passages) <= 2 and all(p["answer_start"] is None for p in passages)

    empty = await client.call_tool("ask", {"question": "   "})
    assert empty.is_error and "empty" in _text(empty)
    missing = await client.call_tool("get_document", {"doc_id": "nope"})
    assert missing.is_error and "no document" in _text(missing)
    too_many = await client.call_tool("search", {"query": "Kim", "top_k": 500})
    assert too_many.is_error


def test_the_tools_over_stdio(tmp_path):
    shutil.copytree(ROOT / "seeds", tmp_path / "docs")
    env = {
        **os.environ,
        "RAG_DOCS_DIR": str(tmp_path / "docs"),
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "RAG_MAX_TEXT_BYTES": str(128 * 1024),  # the seeds are far smaller
    }
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "rag", "mcp"], env=env, cwd=str(ROOT)
    )

    async def session() -> None:
        async with Client(params, read_timeout_seconds=300) as client:
            await _check_the_tools(client)
            added = await client.call_tool(
                "add_document",
                {"text": "The Zorblax kite festival is held in Tartu every May.", "title": "Kites"},
            )
            assert added.structured_content["created"] is True, "stdio is the local user"
            huge = await client.call_tool("add_document", {"text": "word " * 40_000})
            assert huge.is_error and _text(huge).endswith(": the text is over 0.125 MB")
            asked = await client.call_tool(
                "ask", {"question": "Where is the Zorblax kite festival held?"}
            )
            assert asked.structured_content["answer"].startswith("Tartu")

    asyncio.run(session())


def test_the_tools_over_http_with_writes_behind_the_key(tmp_path):
    server = Server.seeded(tmp_path, env={"RAG_API_KEY": "sesame"}).start()

    def connect(headers: dict | None = None) -> Client:
        http = httpx2.AsyncClient(headers=headers or {}, timeout=120)
        return Client(streamable_http_client(f"{server.base}/mcp", http_client=http))

    kite = {"text": "The Zorblax kite festival is held in Tartu every May.", "title": "Kites"}

    async def session() -> None:
        async with connect() as client:
            await _check_the_tools(client)
            refused = await client.call_tool("add_document", kite)
            assert refused.is_error and "Bearer" in _text(refused)
        async with connect({"Authorization": "Bearer sesame"}) as client:
            added = await client.call_tool("add_document", kite)
            assert added.structured_content["created"] is True

    try:
        asyncio.run(session())
        r = httpx2.get(f"{server.base}/documents", timeout=10)
        assert [d["title"] for d in r.json()["documents"]].count("Kites") == 1
    finally:
        server.stop()
