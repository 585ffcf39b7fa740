"""/documents: list, read, add (JSON text or uploaded files) and delete documents."""

from __future__ import annotations

import json
import logging
import time
from typing import Annotated

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi import status as http
from fastapi.concurrency import run_in_threadpool

from api.access import CallerDep, Requires
from api.deps import PipelineDep
from api.errors import retry_after
from api.jobs import JobInfo, Wait, as_job, failure_of, files_job, text_job
from api.schemas import (
    CollectionName,
    DocumentCreated,
    DocumentList,
    FileFailure,
    NewDocument,
    UploadResult,
    errors,
)
from api.scoping import deletable_document, readable_document, writable_collection
from rag.core.errors import IngestError
from rag.core.selection import check_metadata, place
from rag.core.types import Document
from rag.documents import ingest
from rag.documents.ingest import SUPPORTED_SUFFIXES
from rag.service.pipeline import Pipeline

router = APIRouter(prefix="/documents", tags=["documents"])
log = logging.getLogger("rag.api")


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


@router.get(
    "", response_model=DocumentList, dependencies=[Requires("read")], responses=errors(401, 403)
)
def list_documents(
    pipeline: PipelineDep,
    caller: CallerDep,
    collection: Annotated[
        CollectionName | None, Query(description="Only this collection's documents.")
    ] = None,
) -> dict:
    """The documents of the collections the key may read (or of one of them)."""
    if collection is not None:
        wanted = [collection] if caller.can_read(collection) else []
    else:
        wanted = None if caller.collections is None else sorted(caller.collections)
    return {"documents": pipeline.store.documents(wanted) if wanted != [] else []}


@router.get(
    "/{doc_id}",
    response_model=Document,
    dependencies=[Requires("read")],
    responses=errors(401, 403, 404),
)
def get_document(doc_id: str, pipeline: PipelineDep, caller: CallerDep) -> Document:
    return readable_document(pipeline, caller, doc_id)


@router.post(
    "",
    status_code=http.HTTP_201_CREATED,
    response_model=DocumentCreated,
    response_model_exclude_none=True,
    dependencies=[Requires("write"), Depends(_json_body)],
    responses={
        200: {"model": DocumentCreated, "description": "Already indexed."},
        202: {"model": JobInfo, "description": "A job (long text, or ?wait=false)."},
        **errors(401, 403, 404, 408, 413, 415, 422, 503, 507),
    },
)
async def add_document(
    body: NewDocument,
    response: Response,
    pipeline: PipelineDep,
    caller: CallerDep,
    wait: Wait = None,
) -> dict:
    """Index a text into a collection, with metadata; it is answerable as soon as this
    returns. A text of more than 100,000 characters is split into passages by a parse
    worker, within ``RAG_PARSE_SECONDS`` a MB (413 past it); on shutdown, 503. Past
    ``RAG_JOB_THRESHOLD_BYTES``, or with ``?wait=false``: 202 with a job (``GET /jobs/{id}``)."""
    collection = writable_collection(caller, body.collection)
    if as_job(pipeline, wait, len(body.text.encode("utf-8", "surrogatepass"))):
        return await text_job(pipeline, collection, body.text, body.title, body.metadata)
    # cleaning a long text takes a while: never on the event loop, which serves /health
    parser = pipeline.indexer.parser  # refuses a text over RAG_MAX_TEXT_BYTES
    made = await run_in_threadpool(parser.make_document, body.text, title=body.title, source="api")
    document = place(made, collection, body.metadata)
    stored, created = await run_in_threadpool(pipeline.add_document, document)
    if not created:
        response.status_code = http.HTTP_200_OK
    return _created(stored, created)


async def _read_upload(
    upload: UploadFile, name: str, title: str | None, pipeline: Pipeline
) -> Document:
    """The file's document; an HTML page or a PDF is parsed by a bounded worker
    (:mod:`rag.documents.parsing`), off the event loop."""
    max_bytes = pipeline.settings.max_upload_bytes
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        too_large = f"{name}: larger than {max_bytes} bytes"
        raise HTTPException(http.HTTP_413_CONTENT_TOO_LARGE, too_large)
    parser = pipeline.indexer.parser
    return await run_in_threadpool(parser.read_bytes, data, name, title=title, source=name)


def _failure(name: str, exc: Exception) -> FileFailure:
    """One file's failure, with the status it alone would get and a one-line reason."""
    code, detail = failure_of(name, exc)
    if detail.endswith("(internal error)"):
        log.error("upload of %s failed: %s", name, exc, exc_info=exc)
    return FileFailure(file=name, status=code, detail=detail)


async def _upload_one(
    upload: UploadFile, title: str | None, pipeline: Pipeline, into: tuple[str, dict]
) -> DocumentCreated | FileFailure:
    """Parse and store one file into ``into`` (collection, metadata); whatever fails is
    its failure alone, reported, never raised (the files before it are stored, and the
    answer must say so)."""
    name = ingest.clean_name(upload.filename or "") or "upload"
    try:
        document = place(await _read_upload(upload, name, title, pipeline), *into)
        stored, created = await run_in_threadpool(pipeline.add_document, document)
    except Exception as exc:
        return _failure(name, exc)
    return DocumentCreated(**_created(stored, created, file=name))


def _refusal(failure: FileFailure) -> HTTPException:
    """The request's error when every file failed: the first one's status and reason (a
    503 with ``Retry-After``: on shutdown, or busy parsers, the same upload will do)."""
    return HTTPException(failure.status, failure.detail, headers=retry_after(failure.status))


def _late(upload: UploadFile, budget: float) -> FileFailure:
    name = ingest.clean_name(upload.filename or "") or "upload"
    detail = f"{name}: not read: the request ran past its {budget:g} s; send this file again"
    return FileFailure(file=name, status=http.HTTP_503_SERVICE_UNAVAILABLE, detail=detail)


async def _held(
    files: list[UploadFile], title: str | None, pipeline: Pipeline, into: tuple[str, dict]
) -> tuple[list[DocumentCreated], list[FileFailure]]:
    """Each file read and stored in turn while the request waits, within its budget."""
    added: list[DocumentCreated] = []
    failed: list[FileFailure] = []
    budget = pipeline.settings.upload_seconds
    deadline = time.monotonic() + budget
    for upload in files:
        if time.monotonic() > deadline:  # the client is still owed an answer in time
            outcome = _late(upload, budget)
        else:
            outcome = await _upload_one(upload, title, pipeline, into)
        (added if isinstance(outcome, DocumentCreated) else failed).append(outcome)
    return added, failed


@router.post(
    "/files",
    status_code=http.HTTP_201_CREATED,
    response_model=UploadResult,
    dependencies=[Requires("write")],
    responses={
        200: {"model": UploadResult, "description": "Nothing new: all already indexed."},
        202: {"model": JobInfo, "description": "A job (large files, or ?wait=false)."},
        **errors(401, 403, 404, 408, 413, 415, 422, 503, 507),
    },
)
async def upload_files(
    files: Annotated[
        list[UploadFile],
        File(description=f"Files of the types {', '.join(SUPPORTED_SUFFIXES)}.", min_length=1),
    ],
    response: Response,
    pipeline: PipelineDep,
    caller: CallerDep,
    title: Annotated[
        str | None,
        Form(
            max_length=500, description="Title of every file sent (default: each one's first line)."
        ),
    ] = None,
    collection: Annotated[
        CollectionName, Form(description="The collection the files go into.")
    ] = "default",
    metadata: Annotated[
        str | None,
        Form(max_length=65_535, description="A JSON object of metadata for every file sent."),
    ] = None,
    wait: Wait = None,
) -> UploadResult:
    """Index uploaded files, each on its own: a bad file is reported, the others kept.
    HTML and PDF files are parsed within time, memory, page and text limits (413 past
    one, naming it); at most ``RAG_MAX_UPLOAD_FILES`` files per request (413); files not
    begun within ``RAG_UPLOAD_SECONDS`` are refused (503), so that the answer comes.

    When every file fails, the status is the first failure's (415, 413, 422). Files of
    more than ``RAG_JOB_THRESHOLD_BYTES`` in all, or ``?wait=false``: 202 with a job."""
    into = (writable_collection(caller, collection), _metadata_form(metadata))
    most = pipeline.settings.max_upload_files
    if len(files) > most:
        raise HTTPException(
            http.HTTP_413_CONTENT_TOO_LARGE,
            f"{len(files)} files in one request: at most {most}; send them in several requests",
        )
    if as_job(pipeline, wait, sum(upload.size or 0 for upload in files)):
        return await files_job(pipeline, into, files, title)
    added, failed = await _held(files, title, pipeline, into)
    if failed and not added:
        raise _refusal(failed[0])
    if not any(d.created for d in added):
        response.status_code = http.HTTP_200_OK
    return UploadResult(documents=added, errors=failed)


@router.delete(
    "/{doc_id}",
    status_code=http.HTTP_204_NO_CONTENT,
    dependencies=[Requires("write")],
    responses=errors(401, 403, 404, 507),
)
def delete_document(doc_id: str, pipeline: PipelineDep, caller: CallerDep) -> Response:
    deletable_document(pipeline, caller, doc_id)
    if not pipeline.delete_document(doc_id):
        raise HTTPException(http.HTTP_404_NOT_FOUND, f"no document with id {doc_id!r}")
    return Response(status_code=http.HTTP_204_NO_CONTENT)


def _metadata_form(text: str | None) -> dict:
    """The upload's ``metadata`` field: a JSON object (checked when placed), else 422."""
    if not text:
        return {}
    try:
        found = json.loads(text)
    except ValueError:
        raise IngestError("metadata: not JSON; send a JSON object") from None
    if not isinstance(found, dict):
        raise IngestError("metadata: a JSON object of keys and values")
    check_metadata(found)
    return found
