"""/documents: list, read, add (JSON text or uploaded files) and delete documents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, Response, UploadFile
from fastapi import status as http
from fastapi.concurrency import run_in_threadpool

from api.deps import PipelineDep, WriteAccess
from api.schemas import (
    DocumentCreated,
    DocumentList,
    FileFailure,
    NewDocument,
    UploadResult,
    errors,
)
from rag.core.errors import IngestError
from rag.core.types import Document
from rag.documents import ingest
from rag.documents.ingest import SUPPORTED_SUFFIXES, UnsupportedFileType

router = APIRouter(prefix="/documents", tags=["documents"])


def _not_found(doc_id: str) -> HTTPException:
    return HTTPException(http.HTTP_404_NOT_FOUND, f"no document with id {doc_id!r}")


def _json_body(request: Request) -> None:
    """FastAPI would read any other content type as JSON and answer 422; say 415."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(
            http.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "send application/json {title, text}, or upload files to POST /documents/files",
        )


def _created(stored: Document, created: bool, **extra) -> dict:
    return {"doc_id": stored.doc_id, "title": stored.title, "created": created, **extra}


@router.get("", response_model=DocumentList)
def list_documents(pipeline: PipelineDep) -> dict:
    return {"documents": pipeline.store.documents()}


@router.get("/{doc_id}", response_model=Document, responses=errors(404))
def get_document(doc_id: str, pipeline: PipelineDep) -> Document:
    document = pipeline.store.document(doc_id) if ingest.valid_doc_id(doc_id) else None
    if document is None:
        raise _not_found(doc_id)
    return document


@router.post(
    "",
    status_code=http.HTTP_201_CREATED,
    response_model=DocumentCreated,
    response_model_exclude_none=True,
    dependencies=[WriteAccess, Depends(_json_body)],
    responses={
        200: {"model": DocumentCreated, "description": "Already indexed."},
        **errors(401, 403, 408, 413, 415, 422, 507),
    },
)
async def add_document(body: NewDocument, response: Response, pipeline: PipelineDep) -> dict:
    """Index a text; it is answerable as soon as this returns."""
    # cleaning a long text takes a while: never on the event loop, which serves /health
    document = await run_in_threadpool(
        ingest.make_document, body.text, title=body.title, source="api"
    )
    stored, created = await run_in_threadpool(pipeline.add_document, document)
    if not created:
        response.status_code = http.HTTP_200_OK
    return _created(stored, created)


async def _read_upload(upload: UploadFile, title: str | None, max_bytes: int) -> Document:
    name = ingest.clean_name(upload.filename or "") or "upload"
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        too_large = f"{name}: larger than {max_bytes} bytes"
        raise HTTPException(http.HTTP_413_CONTENT_TOO_LARGE, too_large)
    # the type from the content and the name; parsing a PDF or a page takes a while
    return await run_in_threadpool(ingest.read_bytes, data, name, title=title, source=name)


def _failure(name: str, exc: Exception) -> FileFailure:
    if isinstance(exc, HTTPException):
        return FileFailure(file=name, status=exc.status_code, detail=str(exc.detail))
    code = http.HTTP_415_UNSUPPORTED_MEDIA_TYPE if isinstance(exc, UnsupportedFileType) else 422
    return FileFailure(file=name, status=code, detail=str(exc))


@router.post(
    "/files",
    status_code=http.HTTP_201_CREATED,
    response_model=UploadResult,
    dependencies=[WriteAccess],
    responses={
        200: {"model": UploadResult, "description": "Nothing new: all already indexed."},
        **errors(401, 403, 408, 413, 415, 422, 507),
    },
)
async def upload_files(
    files: Annotated[
        list[UploadFile],
        File(description=f"Files of the types {', '.join(SUPPORTED_SUFFIXES)}.", min_length=1),
    ],
    response: Response,
    pipeline: PipelineDep,
    title: Annotated[
        str | None,
        Form(
            max_length=500, description="Title of every file sent (default: each one's first line)."
        ),
    ] = None,
) -> UploadResult:
    """Index uploaded files, each on its own: a bad file is reported, the others kept.

    When every file fails, the status is the first failure's (415, 413, 422)."""
    added: list[DocumentCreated] = []
    failed: list[FileFailure] = []
    for upload in files:
        name = ingest.clean_name(upload.filename or "") or "upload"
        try:
            document = await _read_upload(upload, title, pipeline.settings.max_upload_bytes)
        except (IngestError, HTTPException) as exc:
            failed.append(_failure(name, exc))
            continue
        stored, created = await run_in_threadpool(pipeline.add_document, document)
        added.append(DocumentCreated(**_created(stored, created, file=name)))
    if failed and not added:
        raise HTTPException(failed[0].status, failed[0].detail)
    if not any(d.created for d in added):
        response.status_code = http.HTTP_200_OK
    return UploadResult(documents=added, errors=failed)


@router.delete(
    "/{doc_id}",
    status_code=http.HTTP_204_NO_CONTENT,
    dependencies=[WriteAccess],
    responses=errors(401, 403, 404, 507),
)
def delete_document(doc_id: str, pipeline: PipelineDep) -> Response:
    if not ingest.valid_doc_id(doc_id) or not pipeline.delete_document(doc_id):
        raise _not_found(doc_id)
    return Response(status_code=http.HTTP_204_NO_CONTENT)
