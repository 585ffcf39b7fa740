"""Long writes answered with a job (issue 38, item 4): the decision, the job's body and the
202, shared by ``POST /documents``, ``POST /documents/files`` and the /jobs routes.

A write past ``RAG_JOB_THRESHOLD_BYTES`` (or any write with ``?wait=false``) is saved to
the index folder and answered 202 with the job and its ``Location`` within a second,
whatever its size: a 5 MB text embedded in a request held it for about 5 minutes, past
the 60 s of common reverse proxies (the client saw a 504 while the server went on). The
job runs in :mod:`rag.service.jobs`. Everything a client can get wrong (the collection,
the metadata, the size, too many files) is still refused at once, as before; only what
the synchronous route would have found while storing (a file that does not parse) is
reported in the job.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import HTTPException, Query, UploadFile
from fastapi import status as http
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.errors import status_of
from api.schemas import DocumentCreated, FileFailure
from rag.core.errors import LimitExceeded, ShuttingDown, StoreError
from rag.documents import ingest
from rag.documents.formats import megabytes
from rag.documents.parsing import ParserUnavailable
from rag.service.job_store import STATES, Job
from rag.service.jobs import Jobs
from rag.service.pipeline import Pipeline

Wait = Annotated[
    bool | None,
    Query(
        description="false: answer 202 with a job at once, whatever the size; true: hold the "
        "request until stored, whatever the size; unset: a job past RAG_JOB_THRESHOLD_BYTES."
    ),
]


class JobInfo(BaseModel):
    """A write running in the background (``GET /jobs/{id}``)."""

    id: str = Field(description="Random and unguessable; GET /jobs/{id} follows it.")
    state: Literal[STATES] = Field(description="queued, running, then done, failed or cancelled.")
    kind: Literal["text", "files"]
    collection: str
    files: list[str] = Field(description="The files' names (none for a text).")
    bytes: int = Field(description="Size of the text or files sent.")
    passages_done: int = Field(description="Passages embedded so far (of the file under way).")
    passages_total: int | None = Field(description="Passages to embed, once the text is split.")
    elapsed_seconds: float = Field(description="Since it was sent (to its end, once finished).")
    eta_seconds: float | None = Field(description="Estimated seconds left while embedding.")
    created_at: str = Field(description="ISO 8601, UTC.")
    started_at: str | None
    finished_at: str | None
    cancel_requested: bool = Field(description="DELETE asked it to stop at its next slice.")
    doc_ids: list[str] = Field(description="The documents stored, once they are.")
    documents: list[DocumentCreated] = Field(description="As POST /documents(/files) lists them.")
    errors: list[FileFailure] = Field(description="Files refused, each with why.")
    error: str | None = Field(description="Why the job failed.")
    status: int | None = Field(description="The HTTP status its failure alone would get.")


class JobList(BaseModel):
    jobs: list[JobInfo] = Field(description="The jobs the key may see, newest first (100).")


def _iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat()


def job_body(jobs: Jobs, job: Job) -> dict:
    """The job as :class:`JobInfo` describes it, its live progress included."""
    end = job.finished_at if job.finished_at is not None else datetime.now(UTC).timestamp()
    return {
        "id": job.id,
        "state": job.state,
        "kind": job.kind,
        "collection": job.collection,
        "files": job.files,
        "bytes": job.size,
        "passages_done": job.done,
        "passages_total": job.total,
        "elapsed_seconds": round(max(end - job.created_at, 0.0), 3),
        "eta_seconds": None if (eta := jobs.eta(job)) is None else round(eta, 1),
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "cancel_requested": jobs.cancelling(job.id),
        "doc_ids": [d["doc_id"] for d in job.documents],
        "documents": job.documents,
        "errors": job.errors,
        "error": job.error,
        "status": job.status,
    }


def accepted(jobs: Jobs, job: Job, code: int = http.HTTP_202_ACCEPTED) -> JSONResponse:
    """202 with the job, and where to follow it."""
    return JSONResponse(
        job_body(jobs, job), status_code=code, headers={"Location": f"/jobs/{job.id}"}
    )


def as_job(pipeline: Pipeline, wait: bool | None, size: int) -> bool:
    """Whether a write of ``size`` bytes becomes a job."""
    if wait is not None:
        return not wait
    return size > pipeline.settings.job_threshold_bytes


def failure_of(name: str | None, exc: Exception) -> tuple[int, str]:
    """The status an input's failure alone would get, and one line saying why (an
    unexpected error is logged by the caller and named an internal error, no more)."""
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail)
    code = status_of(exc)
    what = name or "the text"
    if code >= 500 and not isinstance(exc, ParserUnavailable | ShuttingDown | StoreError):
        return code, f"{what}: not stored (internal error)"
    detail = " ".join(str(exc).split())
    return code, detail if name is None or name in detail else f"{name}: {detail}"


def _jobs(pipeline: Pipeline) -> Jobs:
    if pipeline.jobs is None:  # the app's lifespan starts them: a request before it
        raise ShuttingDown("the service is starting; retry")
    return pipeline.jobs


async def text_job(
    pipeline: Pipeline, collection: str, text: str, title: str | None, metadata: dict
) -> JSONResponse:
    """``POST /documents`` as a job: the text is refused at once when over the size limit."""
    data = text.encode("utf-8", "surrogatepass")
    most = pipeline.settings.max_text_bytes
    if len(data) > most:
        raise LimitExceeded(f"the text is over {megabytes(most)} MB")  # as Parser says
    params = {"title": title, "metadata": metadata}
    jobs = _jobs(pipeline)
    job = await run_in_threadpool(jobs.submit, collection, "text", [data], [], params)
    return accepted(jobs, job)


async def files_job(
    pipeline: Pipeline, into: tuple[str, dict], files: list[UploadFile], title: str | None
) -> JSONResponse:
    """``POST /documents/files`` as a job: the files are saved as sent, and each is read
    and stored by the job (a bad one listed in its ``errors``, the others kept)."""
    names, inputs = [], []
    for upload in files:
        names.append(ingest.clean_name(upload.filename or "") or "upload")
        inputs.append(await upload.read())
    params = {"title": title, "metadata": into[1]}
    jobs = _jobs(pipeline)
    job = await run_in_threadpool(jobs.submit, into[0], "files", inputs, names, params)
    return accepted(jobs, job)
