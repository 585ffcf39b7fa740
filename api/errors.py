"""What an error becomes over HTTP: the library's expected failures as a table of statuses,
validation problems listed without echoing the input, anything else a logged 500."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.metrics import request_id
from rag.core.errors import (
    FeedbackError,
    ShuttingDown,
    StorageFullError,
    StoreDamagedError,
    UnknownDocumentError,
)
from rag.documents.ingest import IngestError, UnsupportedFileType
from rag.documents.parsing import LimitExceeded, ParserUnavailable
from rag.service.pipeline import QuestionError

log = logging.getLogger("rag.api")
#: Validation problems listed in a 422 (the rest are counted).
MAX_ERRORS = 10
#: What a 503 of the table says to wait: a restart after SIGTERM takes about 4 s
#: (docs/reliability.md), and busy parsers free up within seconds.
RETRY_AFTER_SECONDS = 5

#: The library's expected failures and their statuses; the message is the body's detail.
#: A 5xx here is the server's trouble, not the caller's, so it is logged as well.
STATUS_OF: dict[type[Exception], int] = {
    QuestionError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    UnsupportedFileType: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    LimitExceeded: status.HTTP_413_CONTENT_TOO_LARGE,
    ParserUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    ShuttingDown: status.HTTP_503_SERVICE_UNAVAILABLE,
    IngestError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    FeedbackError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    UnknownDocumentError: status.HTTP_404_NOT_FOUND,
    StorageFullError: status.HTTP_507_INSUFFICIENT_STORAGE,
    StoreDamagedError: status.HTTP_500_INTERNAL_SERVER_ERROR,
}
#: Where the caller can look next, appended to the detail.
HINT_OF: dict[type[Exception], str] = {StoreDamagedError: "; see /health"}

Handler = Callable[[Request, Exception], Awaitable[JSONResponse]]


def status_of(exc: Exception) -> int:
    """The status ``exc`` gets by the table (its nearest class in it), else 500: for
    failures reported one by one, such as each file of an upload."""
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return status.HTTP_500_INTERNAL_SERVER_ERROR


def retry_after(code: int) -> dict[str, str] | None:
    """The ``Retry-After`` header of a 503 (the request may simply be sent again)."""
    return {"Retry-After": str(RETRY_AFTER_SECONDS)} if code == 503 else None


def error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=code, headers=retry_after(code))


def add_error_handlers(app: FastAPI) -> None:
    """One handler per row of ``STATUS_OF``, and the two that need more than a status."""
    for cls, code in STATUS_OF.items():
        app.add_exception_handler(cls, _expected(code, HINT_OF.get(cls, "")))
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Exception, _unexpected)


def _expected(code: int, hint: str) -> Handler:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        if code >= 500:  # one line: an expected failure needs no traceback
            level = logging.WARNING if isinstance(exc, ShuttingDown) else logging.ERROR
            log.log(level, "%s %s: %s", request.method, request.url.path, exc)
        return error(code, f"{exc}{hint}")

    return handler


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's default echoes the input, which may hold text that cannot be encoded
    # (lone surrogates): say what is wrong without repeating it. At most MAX_ERRORS
    # problems are listed: a body of a million unknown keys must not become a response
    # of a million errors.
    found = exc.errors()
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in found[:MAX_ERRORS]
    ]
    if len(found) > MAX_ERRORS:
        errors.append({"loc": [], "msg": f"and {len(found) - MAX_ERRORS} more", "type": "more"})
    return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    rid = request_id.get()
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error(
        status.HTTP_500_INTERNAL_SERVER_ERROR,
        f"internal error (request {rid}); see the server log",
    )
