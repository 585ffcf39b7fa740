"""POST /ask: a question in, an extractive answer with cited passages out."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import TypeAdapter

from api.access import CallerDep, Requires
from api.deps import PipelineDep
from api.schemas import AskRequest, errors
from api.scoping import selection
from rag.conversation import Turn
from rag.core.types import AskResult

router = APIRouter(tags=["ask"])
_RESULT = TypeAdapter(AskResult)


@router.post(
    "/ask",
    response_model=AskResult,
    dependencies=[Requires("read")],
    responses=errors(401, 403, 404, 408, 413, 422),
)
async def ask(
    body: AskRequest, request: Request, pipeline: PipelineDep, caller: CallerDep
) -> Response:
    """Answer a question from the indexed documents; ``answer`` is null when unsure.
    With ``history``, a follow-up is answered as the question it resolves to. Only the
    ``collections`` asked (default: every one the key may read) and the documents that
    pass ``filters`` are read; naming a collection the key may not read is a 404.

    The response is serialised here, once, so that its cost can be reported with
    the others in a ``Server-Timing`` header (embed, dense, lexical, fetch, read,
    merge, serialise, in milliseconds).
    """
    asked = time.perf_counter()
    scope = selection(caller, body.collections, body.filters)
    try:
        # the pipeline gives up itself, so a question still queued is dropped too
        result = await run_in_threadpool(
            pipeline.ask,
            body.question,
            body.top_k,
            pipeline.settings.request_timeout,
            [Turn(t.question, t.answer) for t in body.history],
            scope,
        )
    except TimeoutError:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"no answer within {pipeline.settings.request_timeout:g} s; retry later",
            headers={"Retry-After": "5"},
        ) from None
    request.app.state.metrics.observe_answer(result, time.perf_counter() - asked)
    t0 = time.perf_counter()
    content = _RESULT.dump_json(result)
    timings = {**result.timings_ms, "serialise": round((time.perf_counter() - t0) * 1000, 2)}
    return Response(
        content,
        media_type="application/json",
        headers={"Server-Timing": ", ".join(f"{k};dur={v}" for k, v in timings.items())},
    )
