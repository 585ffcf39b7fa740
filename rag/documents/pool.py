"""The bounded worker processes that parse files and split large texts, and the pool that
lends them out (see :mod:`rag.documents.parsing` for why they exist).

A worker is a fresh interpreter (``python -m rag.documents.worker``) that talks over a
socket with :class:`multiprocessing.connection.Connection`: the server has torch and
FAISS loaded, and a fork of it would copy them (and their threads' locks);
multiprocessing's ``spawn`` would re-import the caller's main module (a script without a
main guard would start workers without end). Both directions are JSON plus raw bytes,
never pickles: a job is a JSON header and its data, an answer is JSON (a parser
subverted by a file could shape it, and the service unpickles nothing).
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
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from rag.core.errors import IngestError, ShuttingDown
from rag.core.settings import Settings
from rag.documents.ocr import OcrOptions

#: Seconds a new worker may take to import its parsers (a busy machine is slow).
START_SECONDS = 60.0
#: Jobs a worker does before it is replaced (a parser's leaks cannot accumulate).
JOBS_PER_WORKER = 200
#: The folder that holds the ``rag`` package, first on the worker's path.
_ROOT = str(Path(__file__).resolve().parents[2])


def _paths() -> list[str]:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


class ParserUnavailable(IngestError):
    """No worker could take the file in time (all busy), or none could start."""


@dataclass(frozen=True)
class ParseLimits:
    """What one HTML or PDF file, or splitting one long text, may cost; see
    ``RAG_PARSE_*`` and ``RAG_OCR_*`` in docs/configuration.md."""

    seconds: float = 20.0
    memory_mb: int = 1024
    max_pages: int = 2000
    max_text_bytes: int = 5 * 1024 * 1024
    workers: int = 2
    ocr: OcrOptions = field(default_factory=OcrOptions)

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseLimits:
        return cls(
            seconds=settings.parse_seconds,
            memory_mb=settings.parse_memory_mb,
            max_pages=settings.max_pdf_pages,
            max_text_bytes=settings.max_text_bytes,
            workers=settings.parse_workers,
            ocr=OcrOptions.from_settings(settings),
        )

    def ocr_seconds(self, pages: int) -> float:
        """The time a parse gets once it starts reading ``pages`` scanned pages by OCR:
        each page's own limit (it is stopped at it), and ``seconds`` for the rest."""
        return pages * self.ocr.page_seconds + self.seconds


class Worker:
    """One worker process and our end of its socket."""

    def __init__(self, limits: ParseLimits) -> None:
        ours, theirs = socket.socketpair()
        args = [limits.memory_mb, limits.max_pages, limits.max_text_bytes]
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
            raise ParserUnavailable(
                f"not parsed: the parser process cannot start ({exc})"
            ) from None
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.jobs = 0
        self.limits = limits

    def wait_ready(self) -> None:
        """Wait for the worker to have imported its parsers (apart from the start, so that
        a shutdown can kill it meanwhile)."""
        if not self.conn.poll(START_SECONDS) or self._receive() != ("ready", None):
            self.kill()
            raise ParserUnavailable("the parser process did not start")

    def _receive(self) -> tuple[str, object]:
        """The worker's answer, read as JSON (never unpickled: see worker._answer)."""
        try:
            status, value = json.loads(self.conn.recv_bytes())
        except (EOFError, OSError, ValueError):
            return ("died", None)
        return (status, value)

    def run(self, job: list, data: bytes, seconds: float) -> tuple[str, object]:
        """Send ``job`` (a JSON header: kind, name, options) and ``data``; ("ok", value),
        ("refused" or "limit", a line), ("memory", None), ("died", None) or ("timeout",
        None) after ``seconds``; the worker is killed unless it answered ok, refused or
        limit.

        A PDF with scanned pages says ("ocr", pages) before reading them: from then on
        the job has :meth:`ParseLimits.ocr_seconds` instead (once, for at most
        ``limits.ocr.max_pages`` pages), and a timeout is ("timeout", pages)."""
        self.jobs += 1
        try:
            self.conn.send_bytes(json.dumps([*job, seconds]).encode())
            self.conn.send_bytes(data)
        except (BrokenPipeError, OSError):
            self.kill()
            return ("died", None)
        answer = self._wait(seconds)
        if answer[0] == "ocr":
            pages = answer[1]
            if type(pages) is int and 0 < pages <= self.limits.ocr.max_pages:
                answer = self._wait(self.limits.ocr_seconds(pages))
                if answer[0] == "timeout":
                    answer = ("timeout", pages)
            else:
                answer = ("died", None)  # not what a worker says: it cannot be trusted
        if answer[0] not in ("ok", "refused", "limit"):
            self.kill()
        return answer

    def _wait(self, seconds: float) -> tuple[str, object]:
        """The worker's next message, or ("timeout", None) after ``seconds``."""
        if not self.conn.poll(seconds):
            return ("timeout", None)
        return self._receive()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Kill the process (if it still runs) and reap it."""
        self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        self.conn.close()


class WorkerPool:
    """At most ``limits.workers`` workers, started when first needed; thread-safe."""

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._live = 0  # workers idle, busy or starting
        self._free = threading.Condition()
        self.stopped = False

    def run(self, job: list, data: bytes, seconds: float) -> tuple[str, object]:
        """:meth:`Worker.run` on a worker of the pool; :class:`ShuttingDown` once
        stopped, also when the worker was killed under the job."""
        worker = self._take(job[1])
        try:
            answer = worker.run(job, data, seconds)
        finally:
            self._give_back(worker)
        if self.stopped and answer[0] not in ("ok", "refused", "limit"):
            raise ShuttingDown
        return answer

    def _take(self, name: str) -> Worker:
        """An idle worker, a new one if fewer than ``workers`` exist, else the first to
        come free within ``seconds``."""
        deadline = time.monotonic() + self.limits.seconds
        with self._free:
            while not self._idle and self._live >= self.limits.workers and not self.stopped:
                left = deadline - time.monotonic()
                if left <= 0 or not self._free.wait(left):
                    raise ParserUnavailable(
                        f"{name}: not parsed: the {self.limits.workers} parsers stayed busy "
                        f"for {self.limits.seconds:g} s; send it again later"
                    )
            if self.stopped:
                raise ShuttingDown
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    self._busy.add(worker)
                    return worker
                self._live -= 1  # died idle (killed from outside): start another
            self._live += 1
        try:
            worker = Worker(self.limits)
        except BaseException as exc:
            with self._free:  # a worker that failed to start no longer counts
                self._live -= 1
                self._free.notify()
            if isinstance(exc, ParserUnavailable):
                raise ParserUnavailable(f"{name}: not parsed: {exc}") from None
            raise
        with self._free:
            self._busy.add(worker)  # from now on stop() kills it
            stopped = self.stopped
        if stopped:  # stop() ran while the process was being started
            worker.process.kill()
        try:
            worker.wait_ready()
        except ParserUnavailable as exc:
            self._give_back(worker)
            if self.stopped:
                raise ShuttingDown from None
            raise ParserUnavailable(f"{name}: not parsed: {exc}") from None
        except BaseException:
            self._give_back(worker)
            raise
        return worker

    def _give_back(self, worker: Worker) -> None:
        with self._free:
            self._busy.discard(worker)
            keep = worker.alive and not self.stopped and worker.jobs < JOBS_PER_WORKER
            if keep:
                self._idle.append(worker)
            else:
                self._live -= 1
            self._free.notify()
        if not keep:
            worker.kill()

    def stop(self) -> None:
        """Kill every worker, busy ones included (their callers get :class:`ShuttingDown`
        at once), and run nothing more."""
        with self._free:
            self.stopped = True
            workers = [*self._idle, *self._busy]
            self._free.notify_all()
        for worker in workers:
            worker.process.kill()  # its caller's poll() wakes up at once and reaps it
