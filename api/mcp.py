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

from fastapi.concurrency import run_in_threadpool
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from api.deps import write_refusal
from rag.conversation import MAX_TURNS, Turn
from rag.core.errors import IngestError, QuestionError
from rag.core.types import AskResult, Citation, Document
from rag.documents import ingest
from rag.service.pipeline import Pipeline

INSTRUCTIONS = (
    "Extractive question answering over the user's indexed documents. Answers are spans "
    "copied verbatim from the documents, each with the passages it came from (doc_id, title, "
    "passage text, character offsets). When `ask` returns answer=null, the documents do not "
    "contain the answer: say so rather than guessing. Use `search` to browse passages, "
    "`get_document` to read a whole document, `add_document` to index new text."
)
MAX_TOP_K = 50

TopK = Annotated[
    int | None,
    Field(ge=1, le=MAX_TOP_K, description="Passages to retrieve and read (default: the server's)."),
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
class AddedDocument:
    doc_id: str
    title: str
    created: Annotated[bool, Field(description="False: the same text was already indexed.")]


async def _run(fn, *args):
    """``fn`` off the event loop; an expected failure becomes the tool's error message
    (the model reads it), never a protocol error."""
    try:
        return await run_in_threadpool(fn, *args)
    except (QuestionError, IngestError) as exc:
        raise ToolError(str(exc)) from None
    except TimeoutError:
        raise ToolError("no answer in time: the service is busy, retry later") from None


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
ADD_DOCUMENT = (
    "Index a text so that later questions can be answered from it; it is searchable "
    "as soon as this returns. The same text twice is stored once (created=false). "
    "Over HTTP this needs the server's API key, as the REST API does."
)


def _ask(mcp: MCPServer, pipeline_of: Callable[[], Pipeline]) -> None:
    @mcp.tool(title="Ask the documents", description=ASK)
    async def ask(
        question: Annotated[str, Field(description="A question in natural language.")],
        top_k: TopK = None,
        history: History = None,
    ) -> AskResult:
        p = pipeline_of()
        return await _run(p.ask, question, top_k, p.settings.request_timeout, history)


def _search(mcp: MCPServer, pipeline_of: Callable[[], Pipeline]) -> None:
    @mcp.tool(title="Search passages", description=SEARCH)
    async def search(
        query: Annotated[str, Field(description="Words or a question.")],
        top_k: TopK = None,
    ) -> SearchResult:
        p = pipeline_of()
        return SearchResult(query, await _run(p.search, query, top_k, p.settings.request_timeout))


def _get_document(mcp: MCPServer, pipeline_of: Callable[[], Pipeline]) -> None:
    @mcp.tool(title="Read a document", description=GET_DOCUMENT)
    async def get_document(
        doc_id: Annotated[str, Field(description="A doc_id from a citation.")],
    ) -> Document:
        document = pipeline_of().store.document(doc_id) if ingest.valid_doc_id(doc_id) else None
        if document is None:
            raise ToolError(f"no document with id {doc_id!r}")
        return document


def _add_document(mcp: MCPServer, pipeline_of: Callable[[], Pipeline]) -> None:
    @mcp.tool(title="Add a document", description=ADD_DOCUMENT)
    async def add_document(
        text: Annotated[str, Field(description="The document's text (UTF-8).")],
        ctx: Context,
        title: Annotated[
            str | None, Field(description="Its title (default: its first line).")
        ] = None,
    ) -> AddedDocument:
        _check_write(ctx, pipeline_of)
        # cleaning is linear but not free: off the event loop, as every parse is; a text
        # over RAG_MAX_TEXT_BYTES is refused, as an upload's is
        parser = pipeline_of().indexer.parser
        make = functools.partial(parser.make_document, text, title=title, source="mcp")
        document = await _run(make)
        stored, created = await _run(pipeline_of().add_document, document)
        return AddedDocument(stored.doc_id, stored.title, created)


def _check_write(ctx: Context, pipeline_of: Callable[[], Pipeline]) -> None:
    """Over HTTP a write follows the REST API's rules; over stdio the caller is the
    local user who started the process."""
    request = ctx.request_context.request
    if request is None:
        return
    client = request.client.host if request.client else None
    refusal = write_refusal(pipeline_of().settings.api_key, client, request.headers)
    if refusal is not None:
        raise ToolError(refusal[1])


#: Each registers one tool, in the order clients list them.
TOOLS = (_ask, _search, _get_document, _add_document)
