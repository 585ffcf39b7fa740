"""The FastAPI application: routers, lifespan (models and index loaded once), error mapping."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from api.limits import AllowHeader, BodySizeLimit, BodyTimeout, InFlightLimit
from api.mcp import create_mcp
from api.metrics import Metrics, RequestMetrics, request_id
from api.routers import ask, documents, health, metrics, ui
from api.schemas import errors
from api.security import SecurityHeaders
from rag import __version__
from rag.core.errors import StorageFullError, StoreDamagedError
from rag.core.settings import Settings, get_settings
from rag.documents.ingest import IngestError, UnsupportedFileType
from rag.service.pipeline import Pipeline, QuestionError

log = logging.getLogger("rag.api")
#: Validation problems listed in a 422 (the rest are counted).
MAX_ERRORS = 10
#: Largest /ask body: a question is at most 2,000 characters.
MAX_ASK_BYTES = 64 * 1024


def _error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=code)


def create_app(settings: Settings | None = None, pipeline: Pipeline | None = None) -> FastAPI:
    """Build the app. A given ``pipeline`` is used as is (already loaded), which lets
    tests and benchmarks share one set of loaded models between apps."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with mcp.session_manager.run():
            if pipeline is None:
                p = Pipeline(settings)

                def load() -> None:  # off the event loop: it takes seconds
                    p.load()
                    p.ensure_index(progress=True)

                await run_in_threadpool(load)
                app.state.pipeline = p
                yield
                p.close()
            else:
                app.state.pipeline = pipeline
                yield

    app = FastAPI(
        title="rag: extractive question answering",
        version=__version__,
        description="Ask questions about your documents; answers are spans copied from them, "
        "with the passages they came from.",
        lifespan=lifespan,
    )
    settings = (
        settings
        if settings is not None
        else (pipeline.settings if pipeline is not None else get_settings())
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    # innermost first. Questions are read whole before they take an in-flight slot, and a
    # stalled upload is dropped from outside the count, which frees its slot; the host
    # check comes before anything is served.
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_upload_bytes, per_path={"/ask": MAX_ASK_BYTES}
    )
    app.add_middleware(InFlightLimit, max_in_flight=settings.max_in_flight)
    app.add_middleware(BodyTimeout, seconds=settings.body_timeout, buffered={"/ask": MAX_ASK_BYTES})
    routes = [
        (route.path, route.path_regex, set(route.methods))
        for router in (ask.router, documents.router, health.router, metrics.router, ui.router)
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    app.add_middleware(AllowHeader, routes=routes)
    if settings.allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)
    app.state.metrics = Metrics(lambda: app.state.pipeline)
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    app.add_middleware(SecurityHeaders)
    # what any request may meet: another Host, a damaged index, a busy service
    common = errors(400, 405, 500, 503)
    app.include_router(ask.router, responses=common)
    app.include_router(documents.router, responses=common)
    app.include_router(health.router, responses=common)
    app.include_router(metrics.router, responses=common)
    app.include_router(ui.router)
    app.mount("/static", ui.static_files(), name="static")
    # MCP over streamable HTTP, stateless (any replica answers any request), as plain
    # routes of this app: the guards above apply to it as to the REST API
    mcp = create_mcp(lambda: app.state.pipeline)
    app.router.routes.extend(
        mcp.streamable_http_app(
            streamable_http_path="/mcp", stateless_http=True, json_response=True
        ).routes
    )

    def openapi() -> dict:
        # Writes need the bearer key only when the server has one: without a key the
        # spec says so (an empty alternative), as the server behaves.
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

    app.openapi = openapi

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the input, which may hold text that cannot be
        # encoded (lone surrogates): say what is wrong without repeating it.
        # At most MAX_ERRORS problems are listed: a body of a million unknown keys must
        # not become a response of a million errors.
        found = exc.errors()
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in found[:MAX_ERRORS]
        ]
        if len(found) > MAX_ERRORS:
            errors.append({"loc": [], "msg": f"and {len(found) - MAX_ERRORS} more", "type": "more"})
        return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(QuestionError)
    async def _question_error(request: Request, exc: QuestionError) -> JSONResponse:
        return _error(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))

    @app.exception_handler(UnsupportedFileType)
    async def _file_type(request: Request, exc: UnsupportedFileType) -> JSONResponse:
        return _error(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(exc))

    @app.exception_handler(IngestError)
    async def _ingest_error(request: Request, exc: IngestError) -> JSONResponse:
        return _error(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))

    @app.exception_handler(StorageFullError)
    async def _full(request: Request, exc: StorageFullError) -> JSONResponse:
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return _error(status.HTTP_507_INSUFFICIENT_STORAGE, str(exc))

    @app.exception_handler(StoreDamagedError)
    async def _damaged(request: Request, exc: StoreDamagedError) -> JSONResponse:
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return _error(status.HTTP_500_INTERNAL_SERVER_ERROR, f"{exc}; see /health")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = request_id.get()
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            f"internal error (request {rid}); see the server log",
        )

    return app
