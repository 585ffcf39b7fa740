"""The service as Model Context Protocol tools, for agents and chat clients.

One :class:`~mcp.server.MCPServer` over a loaded :class:`~rag.service.pipeline.Pipeline`, served
over stdio by ``rag mcp`` and over streamable HTTP at ``/mcp`` by ``rag serve`` (see
:func:`api.app.create_app`). The tools are thin: they call the pipeline, as the REST
routers do, and return the library's own types. ``add_document`` over HTTP needs the
same write access as ``POST /documents``; over stdio the caller is the user who started
the process.

Tool descriptions are written for a model: what the tool returns, when to use it, and
that a null answer means the documents do not say (not that the tool failed).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import HTTPException
from fastapi.concurrency import run_in_threadpool
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from api.access import CALLER_KEY, AccessDenied, Caller, denial, resolve_caller
from api.scoping import readable_collections, readable_document, selection, writable_collection
from rag.conversation import MAX_TURNS, Turn
from rag.core.errors import IngestError, QuestionError, ShuttingDown
from rag.core.selection import place
from rag.core.types import AskResult, Citation, Document
from rag.service.keys import KeyRing, default_keys_file
from rag.service.pipeline import Pipeline

INSTRUCTIONS = (
    "Extractive question answering over the user's indexed documents. Answers are spans "
    "copied verbatim from the documents, each with the passages it came from (doc_id, title, "
    "passage text, character offsets). When `ask` returns answer=null, the documents do not "
    "contain the answer: say so rather than guessing. Use `search` to browse passages, "
    "`get_document` to read a whole document, `add_document` to index new text. Documents "
    "live in collections (`collections` lists yours); `ask` and `search` take `collections` "
    "and metadata `filters`."
)
MAX_TOP_K = 50

TopK = Annotated[
    int | None,
    Field(ge=1, le=MAX_TOP_K, description="Passages to retrieve and read (default: the server's)."),
]

Collections = Annotated[
    list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]] | None,
    Field(
        min_length=1,
        max_length=100,
        description="Collections to read (default: every one you may read; see `collections`).",
    ),
]
Filters = Annotated[
    dict | None,
    Field(
        description='A Haystack 2.x filter, e.g. {"field": "meta.year", "operator": '
        '">=", "value": 2024} or {"operator": "AND", "conditions": [...]}; fields '
        "doc_id, title, source, collection, created_at, meta.<key>."
    ),
]

History = Annotated[
    list[Turn] | None,
    Field(
        max_length=MAX_TURNS,
        description="Earlier turns of the conversation, oldest first: each question and "
        "the answer `ask` gave (null if none).",
    ),
]


@dataclass(frozen=True)
class SearchResult:
    """Passages found for a query, best first."""

    query: str
    passages: list[Citation]


@dataclass(frozen=True)
class CollectionsResult:
    """The collections the caller may read: name, documents, passages."""

    collections: list[dict]


@dataclass(frozen=True)
class AddedDocument:
    doc_id: str
    title: str
    created: Annotated[bool, Field(description="False: the same text was already indexed.")]


async def _run(fn, *args):
    """``fn`` off the event loop; an expected failure becomes the tool's error message
    (the model reads it), never a protocol error."""
    try:
        return await run_in_threadpool(fn, *args)
    except (QuestionError, IngestError, ShuttingDown) as exc:
        raise ToolError(str(exc)) from None
    except HTTPException as exc:
        raise ToolError(str(exc.detail)) from None
    except TimeoutError:
        raise ToolError("no answer in time: the service is busy, retry later") from None


def _caller(ctx: Context, pipeline_of: Callable[[], Pipeline], scope: str) -> Caller:
    """Who calls the tool, held to ``scope`` as the REST route would be. Over stdio the
    caller is the local user who started the process (every collection); over HTTP, the
    key of the request, as for REST (:mod:`api.access`)."""
    request = ctx.request_context.request
    if request is None:
        return _stdio_caller(pipeline_of, scope)
    caller = request.scope.get(CALLER_KEY)
    if caller is None:
        client = request.client.host if request.client else None
        keyring = getattr(request.app.state, "keyring", None)
        try:
            caller = resolve_caller(
                keyring, pipeline_of().settings.api_key, client, request.headers
            )
        except AccessDenied as exc:
            raise ToolError(exc.message) from None
    refused = denial(caller, scope)
    if refused is not None:
        raise ToolError(refused.message)
    return caller


def _stdio_caller(pipeline_of: Callable[[], Pipeline], scope: str) -> Caller:
    """Over stdio: the local user (every collection), or the key RAG_MCP_KEY names."""
    settings = pipeline_of().settings
    if settings.mcp_key is None:
        return Caller("admin", None, None)
    keyring = KeyRing(default_keys_file(settings.index_dir, settings.keys_file))
    info = keyring.verify(settings.mcp_key.get_secret_value())
    if info is None:
        raise ToolError("RAG_MCP_KEY is not a valid key (unknown, expired or revoked)")
    every = info.collections is None
    caller = Caller(info.scope, None if every else frozenset(info.collections), info.id)
    refused = denial(caller, scope)
    if refused is not None:
        raise ToolError(refused.message)
    return caller


def _scoped(fn, *args):
    """``fn(*args)``, its 404/403/422 as the tool's error message."""
    try:
        return fn(*args)
    except HTTPException as exc:
        raise ToolError(str(exc.detail)) from None
    except QuestionError as exc:
        raise ToolError(str(exc)) from None


def create_mcp(pipeline_of: Callable[[], Pipeline]) -> MCPServer:
    """The tools over ``pipeline_of()`` (a callable: the HTTP app loads its pipeline in
    its lifespan, after the routes exist)."""
    mcp = MCPServer("rag", title="Document question answering", instructions=INSTRUCTIONS)
    for register in TOOLS:
        register(mcp, pipeline_of)
    return mcp


ASK = (
    "Answer a factual question from the indexed documents. Returns `answer` (a span "
    "copied from a document, or null when the documents do not contain the answer), "
    "`confidence` (0..1), `answers` (the answer and its alternatives, each with the "
    "`sources` that gave it: doc_id, title, passage text, and the answer's character "
    "offsets answer_start/answer_end in the document), and `passages` (every passage "
    "read). For a follow-up ('Who invited him?'), pass the earlier turns as `history`: "
    "`resolved_question` says how it was understood. Quote the answer with its sources. "
    "A null answer is a finding, not an error."
)
SEARCH = (
    "Find the passages most related to a query (hybrid keyword and semantic search), "
    "best first, without extracting an answer: doc_id, title, passage text and its "
    "character offsets in the document. Use it to explore what the documents say "
    "about a topic; use `ask` for a direct answer."
)
GET_DOCUMENT = (
    "The whole stored text of one document, by the doc_id that `ask` or `search` "
    "cited; the character offsets they gave index into this text."
)
COLLECTIONS = (
    "The collections of documents you may read, with how many documents and passages "
    "each holds: names to pass to `ask` and `search` as `collections`."
)
ADD_DOCUMENT = (
    "Index a text so that later questions can be answered from it; it is searchable "
    "as soon as this returns. The same text twice is stored once (created=false). "
    "Over HTTP this needs the server's API key, as the REST API does."
)


def _ask(mcp: MCPServer, pipeline_of: Callable[[], Pipeline]) -> None:
    @mcp.tool(title="Ask the documents", description=ASK)
    async def ask(
        question: Annotated[str, Field(description="A question in natural language.")],
        ctx: Context,
        top_k: TopK = None,
        history: History = None,
        collections: Collections = None,
        filters: Filters = None,
    ) -> AskResult:
        p = pipeline_of()
        caller = _caller(ctx, pipeline_of, "read")
        chosen = _scoped(selection, caller, collections, filters)
        timeout = p.settings.request_timeout
        return await _run(p.ask, question, top_k, timeout, history, chosen)


def _search(mcp: MCPServer, pipeline_of: Callable[[], Pipeline]) -> None:
    @mcp.tool(title="Search passages", description=SEARCH)
    async def search(
        query: Annotated[str, Field(description="Words or a question.")],
        ctx: Context,
        top_k: TopK = None,
        collections: Collections = None,
        filters: Filters = None,
    ) -> SearchResult:
        p = pipeline_of()
        caller = _caller(ctx, pipeline_of, "read")
        chosen = _scoped(selection, caller, collections, filters)
        found = await _run(p.search, query, top_k, p.settings.request_timeout, chosen)
        return SearchResult(query, found)


def _get_document(mcp: MCPServer, pipeline_of: Callable[[], Pipeline]) -> None:
    @mcp.tool(title="Read a document", description=GET_DOCUMENT)
    async def get_document(
        doc_id: Annotated[str, Field(description="A doc_id from a citation.")],
        ctx: Context,
    ) -> Document:
        caller = _caller(ctx, pipeline_of, "read")
        return _scoped(readable_document, pipeline_of(), caller, doc_id)


def _add_document(mcp: MCPServer, pipeline_of: Callable[[], Pipeline]) -> None:
    @mcp.tool(title="Add a document", description=ADD_DOCUMENT)
    async def add_document(
        text: Annotated[str, Field(description="The document's text (UTF-8).")],
        ctx: Context,
        title: Annotated[
            str | None, Field(description="Its title (default: its first line).")
        ] = None,
        collection: Annotated[
            str | None, Field(description="The collection it goes into (default: 'default').")
        ] = None,
        metadata: Annotated[
            dict | None,
            Field(description="Metadata: strings, numbers, booleans, dates, lists of those."),
        ] = None,
    ) -> AddedDocument:
        caller = _caller(ctx, pipeline_of, "write")
        into = _scoped(writable_collection, caller, collection)
        # cleaning is linear but not free: off the event loop, as every parse is; a text
        # over RAG_MAX_TEXT_BYTES is refused, as an upload's is
        parser = pipeline_of().indexer.parser
        make = functools.partial(parser.make_document, text, title=title, source="mcp")
        document = await _run(place, await _run(make), into, metadata)
        stored, created = await _run(pipeline_of().add_document, document)
        return AddedDocument(stored.doc_id, stored.title, created)


def _collections(mcp: MCPServer, pipeline_of: Callable[[], Pipeline]) -> None:
    @mcp.tool(title="List collections", description=COLLECTIONS)
    async def collections(ctx: Context) -> CollectionsResult:
        caller = _caller(ctx, pipeline_of, "read")
        return CollectionsResult(readable_collections(caller, pipeline_of()))


#: Each registers one tool, in the order clients list them.
TOOLS = (_ask, _search, _get_document, _add_document, _collections)
