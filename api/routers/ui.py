"""The built-in web pages: the chat page at ``/`` and a document view with a highlighted span.

Both are static files from ``api/static`` (mounted at ``/static``); their scripts talk
to the JSON API. Nothing is loaded from another origin. The pages are public: they hold
no data, and the API calls they make carry the key the user enters.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from api.access import Requires

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(include_in_schema=False, dependencies=[Requires("public")])

_NO_CACHE = {"Cache-Control": "no-cache"}


class _RevalidatedStaticFiles(StaticFiles):
    """Static files that browsers revalidate (ETag, 304) so an upgrade is seen at once."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def static_files() -> StaticFiles:
    """The app's assets, for ``app.mount("/static", ...)``."""
    return _RevalidatedStaticFiles(directory=STATIC_DIR)


@router.api_route("/", methods=["GET", "HEAD"])
def chat_page() -> FileResponse:
    """The chat page: ask questions, read cited answers, manage documents."""
    return FileResponse(STATIC_DIR / "index.html", headers=_NO_CACHE)


@router.api_route("/documents/{doc_id}/view", methods=["GET", "HEAD"])
def document_view(doc_id: str) -> FileResponse:
    """The whole document, with ``?start=&end=`` (character offsets) highlighted.

    The page fetches ``GET /documents/{doc_id}`` itself and says so when it is unknown.
    """
    return FileResponse(STATIC_DIR / "document.html", headers=_NO_CACHE)
