"""Where jobs are kept: a small SQLite file (``jobs.sqlite3``) and their inputs in
``jobs/`` beside it, in the index folder.

A job's input (the uploaded bytes) is written to ``jobs/<id>/`` and fsynced, the folder
renamed into place, and only then its row committed: a job that a client was told of
(the 202 comes after :meth:`JobStore.add`) survives a crash with everything needed to
run it again. The input is deleted when the job ends; a row whose input is gone, or an
input without a row (a crash between the two), is settled by :meth:`JobStore.settle`.

The table holds no progress under way: a job left running by a crash is run again from
its input (a document is stored whole or not at all), so passages embedded before the
crash mean nothing; the runner keeps them in memory (:mod:`rag.service.jobs`).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rag.core.durable import fsync_dir
from rag.core.errors import StoreError

#: A job's states; the last three are final.
STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
#: Finished jobs are kept this long, and at most this many, for their clients to read.
KEEP_SECONDS = 24 * 3600
KEEP_FINISHED = 1000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    collection TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL,
    files TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER,
    documents TEXT NOT NULL DEFAULT '[]',
    errors TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    status INTEGER
)"""
_COLUMNS = (
    "id, collection, kind, state, params, files, size, created_at, started_at, finished_at, "
    "attempts, done, total, documents, errors, error, status"
)


@dataclass
class Job:
    """One job as stored. ``kind``: ``text`` (``POST /documents``, one input: the text
    as UTF-8) or ``files`` (``POST /documents/files``, one input a file, named in
    ``files``). ``params``: title and metadata. ``documents`` and ``errors``: what
    became of each input, as the synchronous routes answer it."""

    id: str
    collection: str
    kind: str
    state: str
    params: dict
    files: list[str]
    size: int
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    done: int = 0
    total: int | None = None
    documents: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    error: str | None = None
    status: int | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


def _job(row: tuple) -> Job:
    values = list(row)
    for i in (4, 5, 13, 14):  # params, files, documents, errors
        values[i] = json.loads(values[i])
    return Job(*values)


class JobStore:
    """The jobs of one index folder: ``folder/jobs.sqlite3`` and ``folder/jobs/``.
    Thread-safe: every call opens its own connection, under one lock (the file is
    small and its writes are a few a job)."""

    def __init__(self, folder: Path, now=time.time) -> None:
        self.path = Path(folder) / "jobs.sqlite3"
        self.inputs = Path(folder) / "jobs"
        self.now = now
        self._lock = threading.Lock()
        self.inputs.mkdir(parents=True, exist_ok=True)
        with self._db():
            pass

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._lock, closing(sqlite3.connect(self.path, timeout=10.0)) as db:
                db.execute("PRAGMA synchronous=FULL")  # a job told to a client is on disk
                db.execute(_SCHEMA)
                with db:
                    yield db
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable jobs file ({exc})") from exc

    def add(
        self, collection: str, kind: str, inputs: list[bytes], files: list[str], params: dict
    ) -> Job:
        """A queued job, its inputs written and fsynced before its row is committed."""
        job_id = secrets.token_hex(16)  # 128 bits: an id cannot be guessed
        part = self.inputs / f"{job_id}.part"
        part.mkdir()
        for i, data in enumerate(inputs):
            with open(part / str(i), "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        fsync_dir(part)
        part.rename(self.inputs / job_id)
        fsync_dir(self.inputs)
        size = sum(map(len, inputs))
        job = Job(job_id, collection, kind, "queued", params, files, size, self.now())
        row = {**vars(job), "params": json.dumps(params), "files": json.dumps(files)}
        with self._db() as db:
            db.execute(
                "INSERT INTO jobs (id, collection, kind, state, params, files, size, created_at)"
                " VALUES (:id, :collection, :kind, :state, :params, :files, :size, :created_at)",
                row,
            )
        return job

    def read_inputs(self, job: Job) -> list[bytes] | None:
        """The job's inputs, or None when they are gone."""
        folder = self.inputs / job.id
        count = 1 if job.kind == "text" else len(job.files)
        try:
            return [(folder / str(i)).read_bytes() for i in range(count)]
        except OSError:
            return None

    def get(self, job_id: str) -> Job | None:
        with self._db() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def list(self, collections: Iterable[str] | None = None, limit: int = 100) -> list[Job]:
        """The newest jobs (of ``collections``; None: every one), newest first."""
        where, args = "", []
        if collections is not None:
            names = sorted(collections)
            where = f"WHERE collection IN ({','.join('?' * len(names))})"
            args = names
        with self._db() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM jobs {where} ORDER BY seq DESC LIMIT ?", (*args, limit)
            ).fetchall()
        return [_job(row) for row in rows]

    def next_queued(self) -> Job | None:
        """The oldest queued job: jobs run in the order they were sent."""
        with self._db() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 1"
            ).fetchone()
        return _job(row) if row else None

    def start(self, job_id: str) -> bool:
        """Mark a queued job running (one more attempt); False if it is no longer queued
        (cancelled meanwhile)."""
        with self._db() as db:
            changed = db.execute(
                "UPDATE jobs SET state = 'running', started_at = ?, attempts = attempts + 1 "
                "WHERE id = ? AND state = 'queued'",
                (self.now(), job_id),
            ).rowcount
        return changed == 1

    def finish(self, job: Job, state: str) -> None:
        """Record a final state with the job's outcome, then delete its input."""
        job.state, job.finished_at = state, self.now()
        row = {**vars(job), "documents": json.dumps(job.documents)}
        row["errors"] = json.dumps(job.errors)
        with self._db() as db:
            db.execute(
                "UPDATE jobs SET state = :state, finished_at = :finished_at, done = :done, "
                "total = :total, documents = :documents, errors = :errors, error = :error, "
                "status = :status WHERE id = :id",
                row,
            )
        shutil.rmtree(self.inputs / job.id, ignore_errors=True)

    def cancel_queued(self, job_id: str) -> bool:
        """Cancel a job that has not started; False if it has (or does not exist)."""
        with self._db() as db:
            changed = db.execute(
                "UPDATE jobs SET state = 'cancelled', finished_at = ? "
                "WHERE id = ? AND state = 'queued'",
                (self.now(), job_id),
            ).rowcount
        if changed:
            shutil.rmtree(self.inputs / job_id, ignore_errors=True)
        return changed == 1

    def settle(self, max_attempts: int) -> list[Job]:
        """On start: jobs a stop left running are queued again, unless their input is
        gone or they were started ``max_attempts`` times already (each such start ended
        with the server: a job that kills it must not do so forever), then failed with
        the reason; inputs of no job (a crash before its row committed) or of a finished
        one (a crash before it was deleted) are deleted. The jobs failed here are returned."""
        failed = []
        with self._db() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE state IN ('queued', 'running')"
            ).fetchall()
        known = {row[0] for row in rows}  # an input of no job, or of a finished one, goes
        for job in map(_job, rows):
            if self.read_inputs(job) is None:
                job.error = "its input was lost while the server restarted; send it again"
            elif job.state == "running" and job.attempts >= max_attempts:
                job.error = (
                    f"the server stopped {job.attempts} times while running it; "
                    "not tried again (see the server's log)"
                )
            else:
                with self._db() as db:
                    db.execute("UPDATE jobs SET state = 'queued' WHERE id = ?", (job.id,))
                continue
            job.status = 500
            self.finish(job, "failed")
            failed.append(job)
        for leftover in self.inputs.iterdir():
            if leftover.name not in known:
                shutil.rmtree(leftover, ignore_errors=True)
        return failed

    def prune(self) -> int:
        """Forget finished jobs older than :data:`KEEP_SECONDS`, and all but the newest
        :data:`KEEP_FINISHED` of them; how many were forgotten."""
        finished = "state IN ('done', 'failed', 'cancelled')"
        with self._db() as db:
            old = db.execute(
                f"DELETE FROM jobs WHERE {finished} AND finished_at < ?",
                (self.now() - KEEP_SECONDS,),
            ).rowcount
            many = db.execute(
                f"DELETE FROM jobs WHERE {finished} AND seq NOT IN "
                f"(SELECT seq FROM jobs WHERE {finished} ORDER BY seq DESC LIMIT ?)",
                (KEEP_FINISHED,),
            ).rowcount
        return old + many
