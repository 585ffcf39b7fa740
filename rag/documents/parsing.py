"""HTML and PDF parsed in worker processes bounded in time and memory.

pypdf and trafilatura run in Python and C on whatever a file says: an outside test
(issue 31) found pages that held the parser for 65 s and grew the server by 2 GB, and
PDFs that raised what no caller expects. No in-process guard can stop a parse that
runs long or allocates without end, so each runs in a small worker process: its address
space is capped (``RLIMIT_AS``), the caller waits at most ``seconds``, and a worker past
either is killed and replaced by a fresh one on the next call. The worker returns the
extracted text or one line saying why not; nothing is stored until it has, so a killed
worker leaves nothing half-stored.

A worker is a fresh interpreter (``python -m rag.documents.worker``) that talks over a
socket with :class:`multiprocessing.connection.Connection`: the server has torch and
FAISS loaded, and a fork of it would copy them (and their threads' locks);
multiprocessing's ``spawn`` would re-import the caller's main module (a script without a
main guard would start workers without end). A worker imports only pypdf and
trafilatura (about 60 MB, ready in half a second), once, and serves many files; its
answers come back as JSON, never as pickles (a parser subverted by a file could shape
them). Plain text needs no worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from rag.core.errors import IngestError, LimitExceeded
from rag.core.settings import Settings
from rag.core.types import Document
from rag.documents import ingest
from rag.documents.formats import Extracted, megabytes

#: Seconds a new worker may take to import its parsers (a busy machine is slow).
START_SECONDS = 60.0
#: Files a worker parses before it is replaced (a parser's leaks cannot accumulate).
JOBS_PER_WORKER = 200
_KIND_NAMES = {"pdf": "PDF", "html": "HTML"}
#: The folder that holds the ``rag`` package, first on the worker's path.
_ROOT = str(Path(__file__).resolve().parents[2])


def _paths() -> list[str]:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


class ParserUnavailable(IngestError):
    """No worker could take the file in time (all busy), or the service is stopping."""


@dataclass(frozen=True)
class ParseLimits:
    """What one HTML or PDF file may cost; see ``RAG_PARSE_*`` in docs/configuration.md."""

    seconds: float = 20.0
    memory_mb: int = 1024
    max_pages: int = 2000
    max_text_bytes: int = 5 * 1024 * 1024
    workers: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseLimits:
        return cls(
            seconds=settings.parse_seconds,
            memory_mb=settings.parse_memory_mb,
            max_pages=settings.max_pdf_pages,
            max_text_bytes=settings.max_text_bytes,
            workers=settings.parse_workers,
        )


class _Worker:
    """One worker process and our end of its socket."""

    def __init__(self, limits: ParseLimits) -> None:
        ours, theirs = socket.socketpair()
        args = [limits.seconds, limits.memory_mb, limits.max_pages, limits.max_text_bytes]
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "rag.documents.worker",
                    str(theirs.fileno()),
                    *map(str, args),
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": os.pathsep.join([_ROOT, *_paths()])},
            )
        except OSError as exc:
            ours.close()
            raise ParserUnavailable(f"the parser process cannot start ({exc})") from None
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.jobs = 0
        if not self.conn.poll(START_SECONDS) or self._receive() != ("ready", None):
            self.kill()
            raise ParserUnavailable("the parser process did not start")

    def _receive(self) -> tuple[str, object]:
        """The worker's answer, read as JSON (never unpickled: see worker._answer)."""
        try:
            status, value = json.loads(self.conn.recv_bytes())
        except (EOFError, OSError, ValueError):
            return ("died", None)
        if status == "ok":
            text, title, metadata = value
            return ("ok", Extracted(text, title, metadata))
        return (status, value)

    def parse(self, kind: str, data: bytes, name: str, seconds: float) -> tuple[str, object]:
        """("ok", Extracted), ("refused" or "limit", a line), ("memory", None), ("died",
        None) or ("timeout", None); the worker is killed unless it answered ok, refused or
        limit."""
        self.jobs += 1
        try:
            self.conn.send((kind, data, name))
        except (BrokenPipeError, OSError):
            self.kill()
            return ("died", None)
        if not self.conn.poll(seconds):
            self.kill()
            return ("timeout", None)
        answer = self._receive()
        if answer[0] not in ("ok", "refused", "limit"):
            self.kill()
        return answer

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Kill the process (if it still runs) and reap it."""
        self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        self.conn.close()


class Parser:
    """Reads files into documents, HTML and PDF through at most ``workers`` bounded
    worker processes, started when first needed; thread-safe."""

    def __init__(self, limits: ParseLimits | None = None) -> None:
        self.limits = limits if limits is not None else ParseLimits()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._live = 0  # workers idle, busy or starting
        self._free = threading.Condition()
        self._stopped = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Parser:
        return cls(ParseLimits.from_settings(settings))

    def read_bytes(self, data: bytes, name: str, **fields) -> Document:
        """:func:`rag.documents.ingest.read_bytes` within the limits (``fields``: title,
        doc_id, source)."""
        return ingest.read_bytes(
            data, name, extract=self.extract, max_text_bytes=self.limits.max_text_bytes, **fields
        )

    def read_file(self, path: Path) -> Document:
        """:func:`rag.documents.ingest.read_file` within the limits."""
        return ingest.read_file(path, reader=self.read_bytes)

    def make_document(self, text: str, **fields) -> Document:
        """:func:`rag.documents.ingest.make_document`, refusing a text over the size limit."""
        most = self.limits.max_text_bytes
        if len(text) * 4 > most and len(text.encode("utf-8", "replace")) > most:
            raise LimitExceeded(f"the text is over {megabytes(most)} MB")
        return ingest.make_document(text, **fields)

    def extract(self, kind: str, data: bytes, name: str) -> Extracted:
        """The text of an HTML page or a PDF, parsed by a worker within the limits."""
        worker = self._take(name)
        try:
            status, value = worker.parse(kind, data, name, self.limits.seconds)
        finally:
            self._give_back(worker)
        if status == "ok":
            return value
        if status == "refused":
            raise IngestError(value)
        if status == "limit":
            raise LimitExceeded(value)
        raise self._failure(status, kind, name)

    def _failure(self, status: str, kind: str, name: str) -> IngestError:
        what = _KIND_NAMES.get(kind, kind)
        if self._stopped:
            return ParserUnavailable(f"{name}: not parsed: the service is stopping")
        if status == "timeout":
            return LimitExceeded(f"{name}: {what} parsing exceeded {self.limits.seconds:g} s")
        if status == "memory":
            return LimitExceeded(
                f"{name}: {what} parsing exceeded {self.limits.memory_mb} MB of memory"
            )
        return IngestError(
            f"{name}: the {what} parser stopped on this file (crashed, or past its "
            f"{self.limits.memory_mb} MB memory limit)"
        )

    def _take(self, name: str) -> _Worker:
        """An idle worker, a new one if fewer than ``workers`` exist, else the first to
        come free within ``seconds``."""
        deadline = time.monotonic() + self.limits.seconds
        with self._free:
            while not self._idle and self._live >= self.limits.workers and not self._stopped:
                left = deadline - time.monotonic()
                if left <= 0 or not self._free.wait(left):
                    raise ParserUnavailable(
                        f"{name}: not parsed: the {self.limits.workers} parsers stayed busy "
                        f"for {self.limits.seconds:g} s; send it again later"
                    )
            if self._stopped:
                raise ParserUnavailable(f"{name}: not parsed: the service is stopping")
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    self._busy.add(worker)
                    return worker
                self._live -= 1  # died idle (killed from outside): start another
            self._live += 1
        try:
            worker = _Worker(self.limits)
        except ParserUnavailable as exc:
            self._forget_one()
            raise ParserUnavailable(f"{name}: not parsed: {exc}") from None
        except BaseException:
            self._forget_one()
            raise
        with self._free:
            self._busy.add(worker)
            stopped = self._stopped
        if stopped:  # stop() ran while this worker was starting
            worker.process.kill()
        return worker

    def _forget_one(self) -> None:
        """A worker that failed to start no longer counts."""
        with self._free:
            self._live -= 1
            self._free.notify()

    def _give_back(self, worker: _Worker) -> None:
        with self._free:
            self._busy.discard(worker)
            keep = worker.alive and not self._stopped and worker.jobs < JOBS_PER_WORKER
            if keep:
                self._idle.append(worker)
            else:
                self._live -= 1
            self._free.notify()
        if not keep:
            worker.kill()

    def stop(self) -> None:
        """Kill every worker, busy ones included (their callers get a
        :class:`ParserUnavailable` at once), and parse nothing more: on shutdown, so that
        a long parse cannot hold the service up."""
        with self._free:
            self._stopped = True
            workers = [*self._idle, *self._busy]
            self._free.notify_all()
        for worker in workers:
            worker.process.kill()  # its caller's poll() wakes up at once and reaps it
