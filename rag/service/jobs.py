"""Long writes as jobs (issue 38, item 4): a write that would hold its HTTP request for
minutes (a 5 MB text takes about 5 minutes to embed on 2 cores, past the 60 s of common
reverse proxies) is answered at once with a job, run here in the background.

One worker thread runs the jobs of one index in the order they came: writes are
serialised by the indexer anyway, and one job at a time leaves the compute thread's
slices to questions as a synchronous upload does. Its progress (passages embedded of
total) comes from the indexer's ``progress`` callback after each slice; the same callback
ends a cancelled job at its next slice (:class:`JobCancelled`), with nothing of that
document stored.

A stop (SIGTERM) ends the running job with :class:`ShuttingDown` and leaves it running in
the table; on the next start (:meth:`Jobs.start`) it is run again from its saved input, or
reported failed if that is gone: never silently lost. A document is stored whole or not
at all, so running a job again is safe (one stored before the crash is found again:
``created`` false).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rag.core.errors import ShuttingDown
from rag.core.selection import check_metadata, place
from rag.service.indexing import Indexer
from rag.service.job_store import Job, JobStore

log = logging.getLogger(__name__)
#: Starts a job may have that each ended with the server (a crash, a kill) before it is
#: failed instead of tried again.
MAX_ATTEMPTS = 3
#: (status, one-line detail) of a file's failure; the API gives its HTTP table.
Describe = Callable[[str | None, Exception], tuple[int, str]]


class JobCancelled(Exception):
    """Raised from the progress callback of a job asked to stop: its write is abandoned."""


def plain_failure(name: str | None, exc: Exception) -> tuple[int, str]:
    """A failure as the library words it (a front end passes its own: HTTP statuses)."""
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return 500, detail if name is None or name in detail else f"{name}: {detail}"


@dataclass
class Live:
    """The running job's progress, kept in memory (re-running starts it over)."""

    job_id: str
    done: int = 0
    total: int | None = None
    base_done: int = 0  # passages of the job's earlier files
    base_total: int = 0
    embedding_since: float | None = None
    cancel: bool = False

    def eta(self, now: float) -> float | None:
        """Seconds left at the rate passages have been embedded so far (None before the
        first slice: reading and splitting come first, at another rate)."""
        if self.total is None or self.embedding_since is None or self.done <= 0:
            return None
        rate = self.done / max(now - self.embedding_since, 1e-3)
        return (self.total - self.done) / rate


class Jobs:
    """The jobs of one index, run one at a time by a worker thread over ``indexer``.

    ``describe`` words a failed input's error (status, detail), so that a job's errors
    read as the synchronous route's would."""

    def __init__(
        self, store: JobStore, indexer: Indexer, describe: Describe = plain_failure
    ) -> None:
        self.store = store
        self.indexer = indexer
        self.describe = describe
        self.live: Live | None = None
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> list[Job]:
        """Settle what a stop left (jobs queued again, or failed when their input is
        gone) and start the worker; the jobs failed on settling are returned."""
        failed = self.store.settle(MAX_ATTEMPTS)
        for job in failed:
            log.warning("job %s failed on start: %s", job.id, job.error)
        self.store.prune()
        self._thread = threading.Thread(target=self._work, name="jobs", daemon=True)
        self._thread.start()
        return failed

    # ------------------------------------------------------------ asked by clients

    def submit(
        self, collection: str, kind: str, inputs: list[bytes], files: list[str], params: dict
    ) -> Job:
        """Queue a job; its input is on disk when this returns."""
        if self._stopping:
            raise ShuttingDown
        check_metadata(params.get("metadata") or {})
        job = self.store.add(collection, kind, inputs, files, params)
        with self._wake:
            self._wake.notify()
        return job

    def get(self, job_id: str) -> Job | None:
        """The job with its live progress (None if unknown)."""
        job = self.store.get(job_id) if len(job_id) <= 64 else None
        return self._with_live(job) if job is not None else None

    def list(self, collections: list[str] | None) -> list[Job]:
        return [self._with_live(job) for job in self.store.list(collections)]

    def _with_live(self, job: Job) -> Job:
        live = self.live
        if live is not None and live.job_id == job.id and job.state == "running":
            job.done, job.total = live.done, live.total
        return job

    def eta(self, job: Job) -> float | None:
        live = self.live
        if job.state != "running" or live is None or live.job_id != job.id:
            return None
        return live.eta(time.time())

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued job at once, or ask the running one to stop at its next slice;
        False when it has already finished."""
        if self.store.cancel_queued(job_id):
            return True
        live, job = self.live, self.store.get(job_id)
        if job is None or job.finished:
            return False
        if live is not None and live.job_id == job_id:
            live.cancel = True
            return True
        return False

    def cancelling(self, job_id: str) -> bool:
        live = self.live
        return live is not None and live.job_id == job_id and live.cancel

    # ------------------------------------------------------------ the worker

    def stop(self) -> None:
        """Take no further job (SIGTERM); the running one ends with the indexer's stop."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout)

    def _work(self) -> None:
        """Run queued jobs until stopped; a failure of the job table (a full disk) is
        logged and tried again, so that the worker never dies silently."""
        while not self._stopping:
            try:
                self._next()
            except Exception as exc:
                log.error("the jobs' worker failed; trying again in 5 s", exc_info=exc)
                self.live = None
                time.sleep(5.0)

    def _next(self) -> None:
        with self._wake:
            job = None if self._stopping else self.store.next_queued()
            while job is None and not self._stopping:
                self._wake.wait(5.0)
                job = self.store.next_queued()
        if job is None:
            return
        self.live = Live(job.id)  # before it is running: a cancel always finds it
        if self.store.start(job.id):
            self._run(job)
        self.live = None

    def _run(self, job: Job) -> None:
        """Run one job to its end; on a stop, leave it running (it resumes on start)."""
        state = self._outcome(job)
        if state is None:
            return
        if state == "failed" and job.error is None and job.errors:
            job.error, job.status = job.errors[0]["detail"], job.errors[0]["status"]
        job.done, job.total = self.live.done, self.live.total
        self.store.finish(job, state)
        self.store.prune()

    def _outcome(self, job: Job) -> str | None:
        """The final state the job's write came to, or None when a stop ended it."""
        try:
            inputs = self.store.read_inputs(job)
            if inputs is None:
                raise FileNotFoundError("its input is gone")
            self._write(job, inputs)
            return "done" if job.documents else "failed"
        except ShuttingDown:
            log.info("job %s stopped by the shutdown; it runs again on the next start", job.id)
            return None
        except JobCancelled:
            return "cancelled"
        except Exception as exc:  # a job's failure is reported in it, never raised
            log.error("job %s failed", job.id, exc_info=exc)
            job.status, job.error = self.describe(None, exc)
            return "failed"

    def _write(self, job: Job, inputs: list[bytes]) -> None:
        """Store each input as its synchronous route would, recording each outcome."""
        parser, title = self.indexer.parser, job.params.get("title")
        names = job.files if job.kind == "files" else [None]
        for name, data in zip(names, inputs, strict=True):
            self._check_cancel()
            try:
                if name is None:
                    text = data.decode("utf-8", "surrogatepass")
                    made = parser.make_document(text, title=title, source="api")
                else:
                    made = parser.read_bytes(data, name, title=title, source=name)
                document = place(made, job.collection, job.params.get("metadata") or {})
                self._check_cancel()
                [(stored, created)] = self.indexer.add_documents(
                    [document], progress=self._progress
                )
            except (ShuttingDown, JobCancelled):
                raise
            except Exception as exc:
                if name is None:
                    raise
                status, detail = self.describe(name, exc)
                if status >= 500:
                    log.error("job %s: %s failed", job.id, name, exc_info=exc)
                job.errors.append({"file": name, "status": status, "detail": detail})
                continue
            finally:
                self._next_input()
            entry = {"doc_id": stored.doc_id, "title": stored.title, "created": created}
            job.documents.append(entry if name is None else {**entry, "file": name})

    def _check_cancel(self) -> None:
        if self.live is not None and self.live.cancel:
            raise JobCancelled

    def _progress(self, done: int, total: int) -> None:
        """The indexer's callback after each slice: progress, and the cancel point."""
        live = self.live
        if live.embedding_since is None:
            live.embedding_since = time.time()
        live.done, live.total = live.base_done + done, live.base_total + total
        self._check_cancel()

    def _next_input(self) -> None:
        """The next file's passages count on top of those of the files before it."""
        live = self.live
        live.base_done = live.done
        live.base_total = live.total if live.total is not None else live.base_total
        live.done = live.base_done
