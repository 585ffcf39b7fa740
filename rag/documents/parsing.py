"""HTML and PDF parsed, and large texts split into passages, in worker processes bounded
in time and memory.

pypdf and trafilatura run in Python and C on whatever a file says: an outside test
(issue 31) found pages that held the parser for 65 s and grew the server by 2 GB, and
PDFs that raised what no caller expects. No in-process guard can stop a parse that
runs long or allocates without end, so each runs in a small worker process: its address
space is capped (``RLIMIT_AS``), the caller waits at most ``seconds``, and a worker past
either is killed and replaced by a fresh one on the next call. The worker returns the
extracted text or one line saying why not; nothing is stored until it has, so a killed
worker leaves nothing half-stored.

Sentence splitting (pysbd) takes about 4 s a MB and cannot be interrupted in a thread: a
5 MB text held a SIGTERM for 20 s or more and ended in a 500 (issue 37, item 5). A text
longer than :data:`SPLIT_IN_PROCESS_CHARS` is therefore split by a worker too, which
sends back only the passages' offsets; shutdown kills it, and its request gets a 503 at
once. Shorter texts (a question-sized document) are split here, with no process hop.
The workers themselves are in :mod:`rag.documents.pool`; plain text needs no parse.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from rag.core.errors import IngestError, LimitExceeded, ShuttingDown
from rag.core.locations import regions_within
from rag.core.settings import Settings
from rag.core.types import Chunk, Document
from rag.documents import ingest, kinds
from rag.documents.chunking import Chunker
from rag.documents.formats import Extracted, megabytes
from rag.documents.pool import ParseLimits, ParserUnavailable, WorkerPool

__all__ = ["SPLIT_IN_PROCESS_CHARS", "ParseLimits", "Parser", "ParserUnavailable", "ShuttingDown"]

#: Texts up to this many characters are split into passages in the calling thread: at
#: most about 0.5 s (measured on 2 busy cores; 20 ms for a 2,000-character text), short
#: of the shutdown's grace. Longer ones go to a worker, where a shutdown can stop them;
#: the hop costs 20 ms to a running worker, 0.5-0.9 s to start the first one.
SPLIT_IN_PROCESS_CHARS = 100_000


class Parser:
    """Reads files into documents, and splits large texts into passages, through at most
    ``workers`` bounded worker processes, started when first needed; thread-safe."""

    def __init__(
        self, limits: ParseLimits | None = None, split_here: int = SPLIT_IN_PROCESS_CHARS
    ) -> None:
        """``split_here``: the longest text split in the calling thread."""
        self.limits = limits if limits is not None else ParseLimits()
        self.split_here = split_here
        self._pool = WorkerPool(self.limits)

    @classmethod
    def from_settings(cls, settings: Settings) -> Parser:
        return cls(ParseLimits.from_settings(settings))

    @property
    def stopped(self) -> bool:
        return self._pool.stopped

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
        """The text of an HTML page or a PDF, parsed by a worker within the limits (a
        PDF's scanned pages read by OCR within theirs)."""
        options = {"ocr": self.limits.ocr.to_json()} if kind == "pdf" else {}
        status, value = self._pool.run([kind, name, options], data, self.limits.seconds)
        if status == "ok":
            text, title, metadata, regions = value
            return Extracted(text, title, metadata, regions)
        if status == "refused":
            raise IngestError(value)
        if status == "limit":
            raise LimitExceeded(value)
        what = kinds.label(kind)
        if status == "timeout" and type(value) is int:  # past the OCR of its scanned pages
            seconds = self.limits.ocr_seconds(value)
            pages = f"{value} scanned pages" if value > 1 else "its scanned page"
            raise LimitExceeded(f"{name}: OCR of {pages} exceeded {seconds:g} s")
        if status == "timeout":
            raise LimitExceeded(f"{name}: {what} parsing exceeded {self.limits.seconds:g} s")
        if status == "memory":
            raise LimitExceeded(
                f"{name}: {what} parsing exceeded {self.limits.memory_mb} MB of memory"
            )
        raise IngestError(
            f"{name}: the {what} parser stopped on this file (crashed, or past its "
            f"{self.limits.memory_mb} MB memory limit)"
        )

    def split_seconds(self, size: int) -> float:
        """What splitting a text of ``size`` UTF-8 bytes may take: ``seconds`` a MB, and at
        least ``seconds``. Splitting is linear, about 4 s a MB on 2 cores (measured), so a
        flat 20 s would refuse a legitimate 5 MB text on a busy machine, while a hostile
        text gains nothing from the time: its size is bounded (``max_text_bytes``)."""
        return self.limits.seconds * max(1.0, size / (1 << 20))

    def split(self, chunker: Chunker, document: Document) -> list[Chunk]:
        """``chunker.split(document)``: here for a short text, by a worker for a long one
        (the same passages: the worker runs the same chunker on the same text).

        A split past :meth:`split_seconds` or the memory limit is a
        :class:`LimitExceeded` naming it; on shutdown, :class:`ShuttingDown`."""
        if len(document.text) <= self.split_here:
            return chunker.split(document)
        data = document.text.encode("utf-8", "surrogatepass")  # decoded there to the same str
        seconds = self.split_seconds(len(data))
        status, value = self._pool.run(["split", "the text", asdict(chunker)], data, seconds)
        if status == "ok":
            return _chunks(document, value)
        what = "splitting the text into passages"
        if status == "timeout":
            per = f"{self.limits.seconds:g} s a MB"
            raise LimitExceeded(f"{what} exceeded {seconds:.3g} s (RAG_PARSE_SECONDS: {per})")
        if status == "memory":
            raise LimitExceeded(f"{what} exceeded {self.limits.memory_mb} MB of memory")
        raise IngestError(f"{what} failed: {value or 'the worker stopped'}")

    def stop(self) -> None:
        """Kill every worker, busy ones included (their callers get a
        :class:`ShuttingDown` at once), and parse nothing more: on shutdown, so that a
        long parse or split cannot hold the service up."""
        self._pool.stop()


def _chunks(document: Document, offsets: object) -> list[Chunk]:
    """The chunks of the worker's flat list of offsets (start, end, start, end, …),
    checked: a worker's answer is data, never trusted to index the text."""
    text = document.text
    if not isinstance(offsets, list) or len(offsets) % 2:
        raise IngestError("splitting the text into passages failed: bad offsets")
    pairs = list(zip(offsets[::2], offsets[1::2], strict=True))
    if not all(type(s) is int and type(e) is int and 0 <= s < e <= len(text) for s, e in pairs):
        raise IngestError("splitting the text into passages failed: bad offsets")
    return [
        Chunk(document.doc_id, i, s, e, text[s:e], regions=regions_within(document.regions, s, e))
        for i, (s, e) in enumerate(pairs)
    ]
