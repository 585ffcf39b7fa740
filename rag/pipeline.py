"""The pipeline: ingest → chunk → embed → store, and retrieve → read → answer.

:class:`Pipeline` is what the HTTP API and the CLI talk to. Construct it with
settings, call :meth:`Pipeline.load` once (models and index), then ask.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import shutil
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path

from tqdm import tqdm

from rag import ingest, runtime
from rag.chunking import Chunker
from rag.embedding import Embedder
from rag.errors import QuestionError
from rag.focus import focus_window
from rag.reader import PREFER_SHORTER, LexicalReader, Reader, Span, load_reader
from rag.retrieval import HybridRetriever
from rag.settings import Settings, get_settings
from rag.sqlite_db import read_documents
from rag.squad import normalize_answer
from rag.store import DocumentStore, Reconciliation, open_store
from rag.types import Answer, AskResult, Citation, Document, Passage

MAX_QUESTION_CHARS = 2000
#: Most questions answered together when requests arrive at once.
MAX_BATCH = 16
log = logging.getLogger(__name__)


def _citation(passage: Passage, span: tuple[int, int] | None = None) -> Citation:
    chunk = passage.chunk
    return Citation(
        doc_id=chunk.doc_id,
        title=passage.title,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        answer_start=span[0] if span else None,
        answer_end=span[1] if span else None,
        score=passage.score,
    )


def answer_key(text: str) -> str:
    """What makes two answers the same: SQuAD normalisation, with hyphens and dashes
    read as spaces so that "Ri Yong-ho" and "Ri Yong Ho" are one answer."""
    return normalize_answer(re.sub(r"[-‐‑–—]", " ", text)) or text.strip().lower()


def _same_answer(a: str, b: str) -> bool:
    """Equal keys, or one inside the other word for word ("Moscow" / "visit Moscow")."""
    if a == b:
        return True
    short, long = sorted((a.split(), b.split()), key=len)
    n = len(short)
    return any(long[i : i + n] == short for i in range(len(long) - n + 1))


def _narrow(answer: str, text: str, start: int, end: int) -> tuple[int, int]:
    """Offsets of ``answer`` inside a longer merged span ("visit Moscow" cites "Moscow")."""
    at = text.lower().find(answer.lower()) if len(answer) < len(text) else -1
    return (start + at, start + at + len(answer)) if at >= 0 else (start, end)


def merge_answers(
    spans: Iterable[Span], passages: list[Passage], retrieval_weight: float = 0.0
) -> list[Answer]:
    """Group spans that are the same answer: equal normalised text, one text inside
    the other word for word, or overlapping offsets in the same document.

    A span's evidence is its reader confidence times its passage's retrieval score
    to the power ``retrieval_weight``. The reader normalises each passage on its
    own, so it is as sure of a plausible span in an off-topic passage as of the
    answer in the best one; the retrieval score tells them apart (on held-out
    SQuAD articles, weight 3 raised open-corpus F1 from 51 to 59 at top_k 5).
    A group's confidence combines its evidence as a noisy-OR over documents (the
    best span of each document counts once, so overlapping passages of one
    article are not counted twice): 1 - Π(1 - e_doc).
    """

    def evidence(span: Span) -> float:
        return span.confidence * passages[span.context].score ** retrieval_weight

    groups: list[dict] = []
    for span in sorted(spans, key=evidence, reverse=True):
        passage = passages[span.context]
        key = answer_key(span.text)
        if not key:
            continue
        doc = passage.chunk.doc_id
        a0, a1 = passage.chunk.start + span.start, passage.chunk.start + span.end
        group = next(
            (
                g
                for g in groups
                if _same_answer(g["key"], key)
                or any(d == doc and a0 < e and s < a1 for d, s, e, _ in g["members"])
            ),
            None,
        )
        if group is None:
            group = {
                "key": key,
                "text": span.text,
                "members": [],
                "passages": set(),
                "best": evidence(span),
            }
            groups.append(group)
        elif (
            len(key.split()) < len(group["key"].split())
            and _same_answer(group["key"], key)
            and evidence(span) >= PREFER_SHORTER * group["best"]
        ):
            # the same answer said more briefly, and nearly as surely: show the brief one
            group["key"], group["text"] = key, span.text
        if span.context in group["passages"]:
            continue
        group["passages"].add(span.context)
        group["members"].append((doc, a0, a1, span))
    answers = []
    for g in groups:
        per_doc: dict[str, float] = {}
        for doc, _, _, span in g["members"]:
            per_doc[doc] = max(per_doc.get(doc, 0.0), evidence(span))
        confidence = 1.0 - math.prod(1.0 - p for p in per_doc.values())
        sources = [
            _citation(passages[span.context], _narrow(g["text"], span.text, a0, a1))
            for _, a0, a1, span in g["members"]
        ]
        answers.append(Answer(g["text"], round(min(max(confidence, 0.0), 1.0), 4), sources))
    answers.sort(key=lambda a: a.confidence, reverse=True)
    return answers


class Pipeline:
    """Loads the models and the index once; answers questions; adds and deletes documents."""

    def __init__(
        self,
        settings: Settings | None = None,
        reader: Reader | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        """``reader`` and ``embedder`` may be shared, already loaded, between pipelines."""
        self.settings = settings if settings is not None else get_settings()
        s = self.settings
        self.chunker = Chunker(s.chunk_words, s.max_chunk_words, s.overlap_words)
        self.embedder = (
            embedder
            if embedder is not None
            else Embedder(s.embedding_model, cache_size=s.query_cache_size)
        )
        self.reader = (
            reader
            if reader is not None
            else load_reader(
                s.reader_model, max_answer_tokens=s.max_answer_tokens, precision=s.reader_precision
            )
        )
        self.store: DocumentStore | None = None
        self.retriever: HybridRetriever | None = None
        self._write_lock = threading.Lock()
        self._pending: list[tuple[str, int, Future]] = []
        self._pending_lock = threading.Lock()

    @property
    def threshold(self) -> float:
        s = self.settings.min_confidence
        return s if s is not None else self.reader.threshold

    def load(self) -> Reconciliation:
        """Load the models (on the compute thread, see rag.runtime) and open the index."""
        return runtime.compute(self._load)

    def _load(self) -> Reconciliation:
        import faiss

        if self.settings.threads:
            import torch

            torch.set_num_threads(self.settings.threads)
        # One question's search gains nothing from threads, and FAISS's OpenMP threads
        # would spin against torch's (a 9-vector search took 3.4 ms instead of 0.1).
        # This binds the compute thread only: bulk indexing elsewhere keeps every core.
        faiss.omp_set_num_threads(1)
        self.embedder.warm_up()
        self.store, report = open_store(
            self.settings.index_dir,
            model_id=self.embedder.identity,
            dimension=self.embedder.dimension,
            flush_seconds=self.settings.vector_flush_seconds,
            ivf_threshold=self.settings.ivf_threshold,
        )
        if report.added or report.removed or report.rebuilt:
            # derived data was behind (a crash, a lazy save): worth a line in the server log
            log.warning(
                "index %s repaired from SQLite: %d vectors added, %d removed%s",
                self.settings.index_dir,
                report.added,
                report.removed,
                ", FAISS file rebuilt" if report.rebuilt else "",
            )
        self.retriever = HybridRetriever(
            self.store,
            self.embedder,
            self.settings.candidates,
            fusion=self.settings.fusion,
            dense_weight=self.settings.dense_weight,
        )
        self.reader.warm_up()
        return report

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    # ------------------------------------------------------------------ writes

    def add_document(self, document: Document) -> tuple[Document, bool]:
        """Chunk, embed and store a document; it is answerable when this returns."""
        return self.add_documents([document])[0]

    def add_text(
        self, text: str, title: str | None = None, source: str = ""
    ) -> tuple[Document, bool]:
        return self.add_document(ingest.make_document(text, title=title, source=source))

    def index_paths(
        self, paths: Iterable[Path], progress: bool = False, batch_documents: int = 256
    ) -> tuple[list[tuple[Document, bool]], list[str]]:
        """Index every supported file under ``paths``: (results, one error line per bad file).

        Files are read, chunked and embedded ``batch_documents`` at a time and stored
        in one transaction per batch: embedding the chunks of many documents together
        lets the model batch (and length-sort) them, which is most of the cost.
        A file that cannot be read (not UTF-8, binary, empty) is skipped and reported,
        so that one bad file does not stop a folder from being indexed.
        """
        files = list(ingest.iter_files(paths))
        results: list[tuple[Document, bool]] = []
        errors: list[str] = []
        with tqdm(total=len(files), desc="indexing", unit="doc", disable=not progress) as bar:
            for lo in range(0, len(files), batch_documents):
                documents = []
                for path in files[lo : lo + batch_documents]:
                    try:
                        documents.append(ingest.read_file(path))
                    except ingest.IngestError as exc:
                        errors.append(str(exc))
                results += self.add_documents(documents)
                bar.update(len(files[lo : lo + batch_documents]))
        return results, errors

    def add_documents(self, documents: list[Document]) -> list[tuple[Document, bool]]:
        """Chunk, embed and store many documents, embedding all their chunks together."""
        chunked = [(document, self.chunker.split(document)) for document in documents]
        vectors = runtime.compute(
            self.embedder.embed, [c.text for _, chunks in chunked for c in chunks]
        )
        items, at = [], 0
        for document, chunks in chunked:
            items.append((document, chunks, vectors[at : at + len(chunks)]))
            at += len(chunks)
        with self._write_lock:
            return self.store.add_many(items)

    def ensure_index(self, progress: bool = False) -> int:
        """Build the index from ``docs_dir`` when it is empty (first start); documents added."""
        docs, _ = self.store.counts()
        if docs or not self.settings.docs_dir.is_dir():
            return 0
        results, errors = self.index_paths([self.settings.docs_dir], progress)
        for error in errors:
            log.warning("skipped %s", error)
        return sum(created for _, created in results)

    def delete_document(self, doc_id: str) -> bool:
        with self._write_lock:
            return self.store.delete(doc_id)

    # ------------------------------------------------------------------ reads

    def ask(
        self, question: str, top_k: int | None = None, timeout: float | None = None
    ) -> AskResult:
        """Answer from the index.

        The work runs on the compute thread (see rag.runtime). Questions that arrive
        while it is busy are answered together, up to :data:`MAX_BATCH` at a time:
        one forward pass embeds them all, and their passages are read in shared,
        length-grouped batches (8 seed questions: 350 ms one by one, 212 ms together).
        Past ``timeout`` seconds it raises ``TimeoutError``, and a question still
        waiting in the queue is dropped rather than answered for nobody.
        """
        question = " ".join(ingest.sanitize(question).split())
        if not question:
            raise QuestionError("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise QuestionError(f"the question is longer than {MAX_QUESTION_CHARS} characters")
        k = top_k if top_k is not None else self.settings.top_k
        if runtime.on_compute_thread():
            return self._answer_many([(question, k)])[0]
        future: Future = Future()
        with self._pending_lock:
            self._pending.append((question, k, future))
        runtime.submit(self._drain)
        try:
            return future.result(timeout)
        except TimeoutError:
            # the caller is gone: a question still queued is dropped, not answered
            future.cancel()
            raise

    def _drain(self) -> None:
        """Answer the questions waiting now (each ``ask`` queues one drain; later drains
        find the queue empty when an earlier one took their questions)."""
        with self._pending_lock:
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
        # a question whose caller timed out was cancelled; it costs no reading
        batch = [item for item in batch if item[2].set_running_or_notify_cancel()]
        if not batch:
            return
        try:
            results = self._answer_many([(q, k) for q, k, _ in batch])
        except BaseException as exc:  # every waiting request learns of it
            for *_, future in batch:
                future.set_exception(exc)
            return
        for (*_, future), result in zip(batch, results, strict=True):
            future.set_result(result)

    def _answer_many(self, items: list[tuple[str, int]]) -> list[AskResult]:
        t0 = time.perf_counter()
        questions = [q for q, _ in items]
        vectors = self.embedder.embed_queries(questions)
        embed_ms = round((time.perf_counter() - t0) * 1000, 2)
        retrieved = [
            self.retriever.retrieve_timed(q, k, vector=v)
            for (q, k), v in zip(items, vectors, strict=True)
        ]
        t1 = time.perf_counter()
        spans = self._read_many(questions, [passages for passages, _ in retrieved])
        t2 = time.perf_counter()
        results = []
        for question, (passages, retrieval_ms), found in zip(
            questions, retrieved, spans, strict=True
        ):
            m0 = time.perf_counter()
            answers = merge_answers(found, passages, self.settings.retrieval_weight)
            best = answers[0] if answers else None
            answered = best is not None and best.confidence >= self.threshold
            cited = {}
            if best is not None:
                cited = {(c.doc_id, c.start): (c.answer_start, c.answer_end) for c in best.sources}
            citations = [_citation(p, cited.get((p.chunk.doc_id, p.chunk.start))) for p in passages]
            m1 = time.perf_counter()
            results.append(
                AskResult(
                    question=question,
                    answer=best.text if answered else None,
                    confidence=best.confidence if best else 0.0,
                    answers=answers,
                    passages=citations,
                    took_ms=round((t2 - t0 + m1 - m0) * 1000, 1),
                    timings_ms={
                        **retrieval_ms,
                        "embed": embed_ms,
                        "retrieve": round((t1 - t0) * 1000, 1),
                        "read": round((t2 - t1) * 1000, 1),
                        "merge": round((m1 - m0) * 1000, 1),
                    },
                )
            )
        return results

    def _read_many(
        self, questions: list[str], passage_lists: list[list[Passage]]
    ) -> list[list[Span]]:
        """Every question's passages, read in shared batches (with
        ``read_words``, only each passage's best window: see rag.focus); spans come
        back per question with offsets into the whole passage, most confident first."""
        budget = self.settings.read_words
        owners, pair_questions, pair_texts = [], [], []
        for qi, (question, passages) in enumerate(zip(questions, passage_lists, strict=True)):
            for pi, p in enumerate(passages):
                text = p.chunk.text
                a, b = focus_window(question, text, budget) if budget else (0, len(text))
                owners.append((qi, pi, a))
                pair_questions.append(question)
                pair_texts.append(text[a:b])
        per_pair = self.reader.read_pairs(pair_questions, pair_texts) if pair_texts else []
        out: list[list[Span]] = [[] for _ in questions]
        for (qi, pi, shift), spans in zip(owners, per_pair, strict=True):
            out[qi] += [
                dataclasses.replace(s, context=pi, start=s.start + shift, end=s.end + shift)
                for s in spans
            ]
        return [sorted(spans, key=lambda s: s.confidence, reverse=True) for spans in out]

    def health(self) -> dict:
        docs, chunks = self.store.counts()
        return {
            "status": "ok",
            "documents": docs,
            "chunks": chunks,
            "vectors": self.store.vector_count(),
            "embedding_model": self.embedder.identity,
            "reader": getattr(self.reader, "model_name", type(self.reader).__name__),
            "threshold": self.threshold,
        }


def rebuild_index(settings: Settings, paths: Iterable[Path] = ()) -> int:
    """Re-embed every stored document, plus ``paths``, into a new index and swap it in.

    The new index is built beside the old one, which stays untouched until the
    new one is complete: an interrupted rebuild loses nothing. Use it after
    changing the embedding model or the chunking settings.
    """
    target = settings.index_dir
    documents = read_documents(target)
    fresh = target.with_name(target.name + ".rebuild")
    shutil.rmtree(fresh, ignore_errors=True)
    builder = Pipeline(settings.model_copy(update={"index_dir": fresh}), reader=LexicalReader())
    builder.load()
    for lo in tqdm(range(0, len(documents), 256), desc="re-embedding", unit="256 docs"):
        builder.add_documents(documents[lo : lo + 256])
    _, errors = builder.index_paths(paths, progress=True)
    for error in errors:
        log.warning("skipped %s", error)
    count = builder.store.counts()[0]
    builder.close()
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return count
