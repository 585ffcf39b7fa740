"""The parse worker's side (see :mod:`rag.documents.parsing`): a loop in a spawned
process that parses the files, and splits the long texts, it is sent, inside a capped
address space.

Kept apart from the pool so that the spawned process imports little: this module, the
extractors and the parsers they load, the chunker and pysbd, nothing of the service.
"""

from __future__ import annotations

import json
import os
import resource
import signal
from dataclasses import replace
from multiprocessing.connection import Connection

from rag.core.errors import IngestError, LimitExceeded
from rag.documents import formats, kinds
from rag.documents.chunking import Chunker, precise_sentence_spans
from rag.documents.ocr import OcrOptions


def _cap_memory(memory_mb: int) -> None:
    """Cap the address space: an allocation past it fails (``MemoryError``) instead of
    growing the machine's memory use; the worker then reports it and exits."""
    limit = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _cap_cpu(seconds: float) -> None:
    """Let the coming parse use at most twice its time limit of CPU: the service kills a
    worker at the limit, but a worker orphaned by a killed service ends by itself too."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + 2 * seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _warm_up() -> None:
    """Import the parsers and pysbd before the first job, so its time limit is spent
    working."""
    import pypdf  # noqa: F401
    import trafilatura  # noqa: F401

    precise_sentence_spans("Warm. Up.")


def split_one(data: bytes, options: dict) -> tuple:
    """("ok", [start, end, start, end, …]): the passages :class:`Chunker` (``options``:
    its fields) cuts from the UTF-8 text ``data``, as flat offsets (compact JSON)."""
    text = data.decode("utf-8", "surrogatepass")  # the caller's str, offsets and all
    try:
        return ("ok", [n for span in Chunker(**options).spans(text) for n in span])
    except MemoryError:
        raise
    except Exception as exc:  # a bug: said in one line, and the worker lives on
        return ("refused", f"{type(exc).__name__}: {exc}")


def parse_one(kind: str, data: bytes, name: str, limits: kinds.ExtractLimits) -> tuple:
    """("ok", Extracted), ("limit", why) or ("refused", why), for one file of a kind in
    :data:`rag.documents.kinds.KINDS`."""
    try:
        if kind not in kinds.BY_NAME or kind in kinds.IN_PROCESS:
            return ("refused", f"{name}: not a file type this worker parses ({kind})")
        return ("ok", kinds.extractor(kind)(data, name, limits))
    except LimitExceeded as exc:
        return ("limit", str(exc))
    except IngestError as exc:
        return ("refused", str(exc))
    except MemoryError:
        raise
    except Exception as exc:  # the extractors catch their parser's errors; this is a bug
        return ("refused", str(formats.unreadable(name, kinds.label(kind), exc)))


def _ocr_options(conn: Connection, options: dict, seconds: float) -> OcrOptions:
    """The job's OCR options (off unless the service sent them), which tell the service
    when OCR starts and how many pages it reads, so that it waits for them, and give
    the process the CPU time of those pages."""
    sent = options.get("ocr")
    if not isinstance(sent, dict):
        return OcrOptions(enabled=False)
    found = OcrOptions(**sent)

    def started(pages: int) -> None:
        _cap_cpu(seconds + pages * found.page_seconds)
        _answer(conn, ("ocr", pages))

    return replace(found, started=started)


def _answer(conn: Connection, answer: tuple) -> None:
    """Send an answer as JSON, never a pickle: the service unpickles nothing that a
    parser working on a hostile file could have shaped."""
    status, value = answer
    if isinstance(value, formats.Extracted):
        value = [value.text, value.title, value.metadata, value.regions]
    conn.send_bytes(json.dumps([status, value]).encode())


def _job(conn: Connection) -> tuple[list, bytes]:
    """The next job: a JSON header (kind, name, options, seconds), then its data."""
    return json.loads(conn.recv_bytes()), conn.recv_bytes()


def serve(conn: Connection, memory_mb: int, max_pages: int, max_text: int) -> None:
    """Answer jobs until the pipe closes; exit after running out of memory (what a
    parser leaves behind then cannot be trusted)."""
    _cap_memory(memory_mb)
    os.nice(10)  # parsing is background work: on busy cores, questions come first
    # Ctrl-C in a terminal reaches the whole process group: the service decides when a
    # worker ends (it kills it), not the keyboard
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import logging
    import warnings

    logging.disable(logging.WARNING)  # crafted files make pypdf warn thousands of times
    warnings.simplefilter("ignore")
    _warm_up()
    _answer(conn, ("ready", None))
    while True:
        try:
            (kind, name, options, seconds), data = _job(conn)
        except (EOFError, OSError, KeyboardInterrupt, ValueError):
            return
        _cap_cpu(seconds)
        try:
            if kind == "split":
                answer = split_one(data, options)
            else:
                limits = kinds.ExtractLimits(
                    max_pages=max_pages,
                    max_text_bytes=max_text,
                    ocr=_ocr_options(conn, options, seconds),
                )
                answer = parse_one(kind, data, name, limits)
        except MemoryError:
            answer = None
        del data
        if answer is None:
            _answer(conn, ("memory", None))
            return
        _answer(conn, answer)


def main(argv: list[str]) -> None:
    """``python -m rag.documents.worker FD MEMORY_MB MAX_PAGES MAX_TEXT``."""
    fd, memory_mb, max_pages, max_text = argv
    serve(Connection(int(fd)), int(memory_mb), int(max_pages), int(max_text))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
