"""The FastAPI application: routers, guards, lifespan (models and index loaded once),
MCP at ``/mcp``; what errors become is in :mod:`api.errors`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from mcp.server import MCPServer

from api.access import RANKS, Requirement, requirement_of, resolve_caller
from api.bodies import BodyTimeout
from api.errors import add_error_handlers
from api.jobs import failure_of
from api.limits import AllowHeader, BodySizeLimit, InFlightLimit
from api.mcp import create_mcp
from api.metrics import Metrics, RequestMetrics
from api.routers import ask, collections, documents, feedback, health, jobs, keys, metrics, ui
from api.schemas import errors
from api.security import Authenticate, ScopeGuard, SecurityHeaders
from rag import __version__
from rag.core.settings import Settings, get_settings
from rag.service.keys import KeyRing, default_keys_file
from rag.service.pipeline import Pipeline

#: Largest /ask body: a question is at most 2,000 characters.
MAX_ASK_BYTES = 64 * 1024
#: Every router, once: the app includes them and the Allow header is built from them.
ROUTERS = (
    ask.router,
    collections.router,
    documents.router,
    feedback.router,
    health.router,
    jobs.router,
    keys.router,
    metrics.router,
    ui.router,
)
#: What any documented request may meet: another Host, a damaged index, a busy service.
COMMON_ERRORS = errors(400, 405, 500, 503)


def create_app(settings: Settings | None = None, pipeline: Pipeline | None = None) -> FastAPI:
    """Build the app. A given ``pipeline`` is used as is (already loaded), which lets
    tests and benchmarks share one set of loaded models between apps."""
    if settings is None:
        settings = pipeline.settings if pipeline is not None else get_settings()
    app = FastAPI(
        title="rag: extractive question answering",
        version=__version__,
        description="Ask questions about your documents; answers are spans copied from them, "
        "with the passages they came from.",
        lifespan=_lifespan(settings, pipeline),
    )
    app.state.keyring = KeyRing(default_keys_file(settings.index_dir, settings.keys_file))
    _add_middleware(app, settings)
    for router in ROUTERS:  # the pages are left out of the schema, so of its error list
        app.include_router(router, responses=COMMON_ERRORS if router.include_in_schema else None)
    app.mount("/static", ui.static_files(), name="static")
    app.state.mcp = _add_mcp(app)
    app.openapi = _openapi(app, settings)
    add_error_handlers(app)
    return app


def _lifespan(
    settings: Settings, pipeline: Pipeline | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Run the MCP sessions, and load a pipeline unless one was given (then it is the
    caller's to close)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with app.state.mcp.session_manager.run():
            if pipeline is not None:
                app.state.pipeline = pipeline
                await run_in_threadpool(pipeline.start_jobs, failure_of)
                yield
                return
            p = Pipeline(settings)

            def load() -> None:  # off the event loop: it takes seconds
                p.load()
                p.ensure_index(progress=True)
                p.start_jobs(failure_of)  # jobs a restart interrupted run again

            await run_in_threadpool(load)
            app.state.pipeline = p
            yield
            p.close()

    return lifespan


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    """The guards, innermost first. Nothing is held before it is checked: the host check
    comes before anything is served; the caller is decided before any body is read (once
    keys exist, a request without a valid one is a 401 at once); questions and MCP calls
    are read whole before they take an in-flight slot; a request its caller may not make
    (a write, key management) is refused before it takes one or any of its body is read
    (issue 32); an upload too slow for the minimum rate is dropped from outside the
    count, which frees its slot."""
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_upload_bytes, per_path={"/ask": MAX_ASK_BYTES}
    )
    app.add_middleware(InFlightLimit, max_in_flight=settings.max_in_flight)
    app.add_middleware(ScopeGuard, routes=_guarded_routes())
    # bodies of /ask and /mcp are read whole before they take a slot: a stalled client
    # holds none, and an MCP call is counted as the read or write it is
    app.add_middleware(
        BodyTimeout,
        seconds=settings.body_timeout,
        buffered={"/ask": MAX_ASK_BYTES, "/mcp": settings.max_upload_bytes},
        min_rate=settings.body_min_rate,
        window=settings.body_rate_window,
    )
    app.add_middleware(
        Authenticate,
        public=_public_paths(app),
        resolve=lambda client, headers: resolve_caller(
            app.state.keyring, app.state.pipeline.settings.api_key, client, headers
        ),
    )
    app.add_middleware(AllowHeader, routes=_routes())
    if settings.cors_origins:  # outside the guards: their refusals carry CORS headers too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    if settings.allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)
    app.state.metrics = Metrics(lambda: app.state.pipeline)
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    app.add_middleware(SecurityHeaders)


def _api_routes() -> list[APIRoute]:
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


def _routes() -> list[tuple[str, re.Pattern, set[str]]]:
    """(path template, its regex, methods) of every route of the routers."""
    return [(route.path, route.path_regex, set(route.methods)) for route in _api_routes()]


def _guarded_routes() -> list[tuple[re.Pattern, set[str], Requirement]]:
    """(regex, methods, requirement) of the routes that need more than reading."""
    found = [(route, requirement_of(route)) for route in _api_routes()]
    return [
        (route.path_regex, set(route.methods), requirement)
        for route, requirement in found
        if requirement is not None and RANKS[requirement.scope] > RANKS["read"]
    ]


def _public_paths(app: FastAPI) -> Callable[[str], bool]:
    """Whether a path is served to anyone: the routes that declare ``Requires("public")``
    (the pages, /health), the page's files and the API's own docs."""
    docs = {app.docs_url, app.redoc_url, app.openapi_url, app.swagger_ui_oauth2_redirect_url}
    exact = frozenset(path for path in docs if path)
    patterns = [
        route.path_regex
        for route in _api_routes()
        if (requirement := requirement_of(route)) is not None and requirement.scope == "public"
    ]

    def public(path: str) -> bool:
        return path in exact or path.startswith("/static/") or any(p.match(path) for p in patterns)

    return public


async def _no_event_stream(request: Request) -> JSONResponse:
    return JSONResponse(
        {"detail": "this MCP server is stateless: POST JSON-RPC to /mcp (no event stream)"},
        status_code=405,
        headers={"Allow": "POST"},
    )


def _add_mcp(app: FastAPI) -> MCPServer:
    """MCP over streamable HTTP, stateless (any replica answers any request), as plain
    routes of this app: the guards apply to it as to the REST API."""
    mcp = create_mcp(lambda: app.state.pipeline)
    # A stateless server has nothing to stream: GET /mcp would only open an event stream
    # that holds a slot until its timeout (30 of them made every /ask a 503). The MCP
    # spec lets such a server answer 405.
    app.router.add_route("/mcp", _no_event_stream, methods=["GET"], include_in_schema=False)
    app.router.routes.extend(
        mcp.streamable_http_app(
            streamable_http_path="/mcp", stateless_http=True, json_response=True
        ).routes
    )
    return mcp


def _openapi(app: FastAPI, settings: Settings) -> Callable[[], dict]:
    """The schema, built once. Writes need the bearer key only when the server has one:
    without a key the spec says so (an empty alternative), as the server behaves."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            if settings.api_key is None:
                for operations in schema["paths"].values():
                    for operation in operations.values():
                        if "security" in operation:
                            operation["security"] = [{}, *operation["security"]]
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi
