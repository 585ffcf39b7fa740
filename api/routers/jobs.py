"""/jobs: the long writes running in the background (issue 38, item 4; api/jobs.py).

A job is visible only to keys that could have written it: a key that may write to its
collection. Any other key gets for its id the 404 of an id that never existed (same
status, same message), and never sees it listed (docs/security.md). Reading a job
needs the write scope, so that a read key learns nothing of writes under way.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi import status as http
from fastapi.responses import JSONResponse

from api.access import Caller, CallerDep, Requires
from api.deps import PipelineDep
from api.jobs import JobInfo, JobList, accepted, job_body
from api.schemas import errors
from rag.service.job_store import Job
from rag.service.jobs import Jobs
from rag.service.pipeline import Pipeline

router = APIRouter(prefix="/jobs", tags=["jobs"], dependencies=[Requires("write")])


def _jobs(pipeline: Pipeline) -> Jobs:
    if pipeline.jobs is None:  # pragma: no cover - the app's lifespan starts them
        raise HTTPException(http.HTTP_503_SERVICE_UNAVAILABLE, "the service is starting; retry")
    return pipeline.jobs


def _visible(jobs: Jobs, caller: Caller, job_id: str) -> Job:
    """The job, or the 404 of one that never existed."""
    job = jobs.get(job_id)
    if job is None or not caller.can_write(job.collection):
        raise HTTPException(http.HTTP_404_NOT_FOUND, f"no job with id {job_id!r}")
    return job


@router.get("", response_model=JobList, responses=errors(401, 403))
def list_jobs(pipeline: PipelineDep, caller: CallerDep) -> dict:
    """The jobs of the collections the key may write, newest first: running and queued
    ones, and finished ones for a day (at most the last 1,000 of all)."""
    jobs = _jobs(pipeline)
    mine = None if caller.collections is None else sorted(caller.collections)
    return {"jobs": [job_body(jobs, job) for job in jobs.list(mine)]}


@router.get("/{job_id}", response_model=JobInfo, responses=errors(401, 403, 404))
def get_job(job_id: str, pipeline: PipelineDep, caller: CallerDep) -> dict:
    """The job: its state, passages embedded of total, elapsed and estimated time left,
    the documents once stored, the error if it failed."""
    jobs = _jobs(pipeline)
    return job_body(jobs, _visible(jobs, caller, job_id))


@router.delete(
    "/{job_id}",
    response_model=JobInfo,
    responses={
        202: {"model": JobInfo, "description": "Running: it stops at its next slice."},
        **errors(401, 403, 404, 409),
    },
)
def cancel_job(job_id: str, pipeline: PipelineDep, caller: CallerDep) -> JSONResponse:
    """Cancel a job: a queued one at once (200, ``cancelled``); a running one stops at its
    next slice of embedding, with nothing of the file under way stored (202; it ends
    ``cancelled``, or ``done`` if it was already storing). 409 once it has finished."""
    jobs = _jobs(pipeline)
    job = _visible(jobs, caller, job_id)
    if job.finished or not jobs.cancel(job.id):
        state = job.state if job.finished else "finished"
        raise HTTPException(
            http.HTTP_409_CONFLICT,
            f"the job has already finished ({state}); delete its documents to undo it",
        )
    job = jobs.get(job.id)
    code = http.HTTP_200_OK if job.finished else http.HTTP_202_ACCEPTED
    return accepted(jobs, job, code)
