"""/documents: list, read, add (JSON or file upload) and delete documents."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.deps import PipelineDep, WriteAccess
from api.schemas import DocumentCreated, DocumentList, DocumentOut, NewDocument
from rag import ingest
from rag.types import Document

router = APIRouter(prefix="/documents", tags=["documents"])

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": NewDocument.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "A UTF-8 .txt or .md file.",
                        },
                        "title": {"type": "string"},
                    },
                }
            },
        },
    }
}


def _not_found(doc_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no document with id {doc_id!r}")


@router.get("", response_model=DocumentList)
def list_documents(pipeline: PipelineDep) -> dict:
    return {"documents": pipeline.store.documents()}


@router.get("/{doc_id}", response_model=DocumentOut)
def get_document(doc_id: str, pipeline: PipelineDep) -> dict:
    document = pipeline.store.document(doc_id) if ingest.valid_doc_id(doc_id) else None
    if document is None:
        raise _not_found(doc_id)
    return asdict(document)


async def _document_from_request(request: Request, max_bytes: int) -> Document:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=4)
        upload, title = form.get("file"), form.get("title")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                "the form needs a 'file' field holding a .txt or .md file",
            )
        ingest.check_suffix(upload.filename)
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"the file is larger than {max_bytes} bytes",
            )
        text = ingest.decode(data, upload.filename)
        return ingest.make_document(
            text, title=title if isinstance(title, str) else None, source=upload.filename
        )
    if content_type == "application/json":
        try:
            body = NewDocument.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
        return ingest.make_document(body.text, title=body.title, source="api")
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        "send application/json {title, text} or a multipart/form-data file upload",
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentCreated,
    dependencies=[WriteAccess],
    openapi_extra=_UPLOAD_BODY,
    responses={
        200: {"model": DocumentCreated, "description": "The same content was already indexed."}
    },
)
async def add_document(request: Request, response: Response, pipeline: PipelineDep) -> dict:
    """Index a document; it is answerable as soon as this returns."""
    document = await _document_from_request(request, pipeline.settings.max_upload_bytes)
    stored, created = await run_in_threadpool(pipeline.add_document, document)
    if not created:
        response.status_code = status.HTTP_200_OK
    return {"doc_id": stored.doc_id, "title": stored.title, "created": created}


@router.delete("/{doc_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[WriteAccess])
def delete_document(doc_id: str, pipeline: PipelineDep) -> Response:
    if not ingest.valid_doc_id(doc_id) or not pipeline.delete_document(doc_id):
        raise _not_found(doc_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
