"""The service: an :class:`~rag.service.indexing.Indexer` and an
:class:`~rag.service.answering.Answerer` over one document store, with the models loaded once.

:class:`Pipeline` is what the HTTP API and the CLI talk to. Construct it with
settings, call :meth:`Pipeline.load` once (models and index), then ask.

Usage::

    from rag import Pipeline, Settings

    pipeline = Pipeline(Settings(docs_dir="seeds", index_dir="/tmp/rag-index"))
    pipeline.load()  # models and index, once
    pipeline.ensure_index()  # index docs_dir on first use
    result = pipeline.ask("Where was Kim invited?")
    print(result.answer, round(result.confidence, 2))  # Moscow 1.0
    pipeline.close()
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import faiss  # before anything imports torch: see Pipeline._load

from rag.conversation import MAX_TURNS, Turn, resolve
from rag.core import compute
from rag.core.errors import QuestionError, StoreError
from rag.core.selection import Selection
from rag.core.settings import Settings, get_settings
from rag.core.types import AskResult, Citation, Document
from rag.documents import ingest
from rag.documents.chunking import Chunker
from rag.documents.parsing import Parser
from rag.reading.base import Reader
from rag.reading.loading import load_reader
from rag.reading.merging import citation
from rag.retrieval.embedders import embedder_for
from rag.retrieval.embedding import Embedder
from rag.retrieval.hybrid import HybridRetriever
from rag.service.answering import Answerer
from rag.service.feedback import FeedbackBook
from rag.service.indexing import Indexer, open_index
from rag.service.job_store import JobStore
from rag.service.jobs import Describe, Jobs, plain_failure
from rag.stores.base import DocumentStore, Reconciliation

__all__ = ["MAX_QUESTION_CHARS", "Pipeline", "QuestionError"]

MAX_QUESTION_CHARS = 2000
#: Most questions answered together when requests arrive at once.
MAX_BATCH = 16
log = logging.getLogger(__name__)


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
        self.embedder = embedder if embedder is not None else embedder_for(s)
        self.reader = (
            reader
            if reader is not None
            else load_reader(
                s.reader_model, max_answer_tokens=s.max_answer_tokens, precision=s.reader_precision
            )
        )
        self.store: DocumentStore | None = None
        self.indexer: Indexer | None = None
        self.answerer: Answerer | None = None
        self.feedback: FeedbackBook | None = None
        self.jobs: Jobs | None = None  # started by the server only (start_jobs)
        self.repairs = Reconciliation()
        # the answerer is looked up per batch, so that it can be swapped (tests, reloads)
        self._questions = compute.Batcher(lambda items: self.answerer.run(items), MAX_BATCH)

    @property
    def threshold(self) -> float:
        return self.answerer.threshold if self.answerer is not None else self._threshold()

    def _threshold(self) -> float:
        s = self.settings.min_confidence
        return s if s is not None else self.reader.threshold

    def load(self) -> Reconciliation:
        """Load the models (on the compute thread, see rag.core.compute) and open the index."""
        return compute.compute(self._load)

    def _load(self) -> Reconciliation:
        import torch

        s = self.settings
        if s.threads:
            torch.set_num_threads(s.threads)
        torch_threads = torch.get_num_threads()
        # One question's search gains nothing from threads, and FAISS's OpenMP threads
        # would spin against torch's (a 9-vector search took 3.4 ms instead of 0.1).
        # This binds the compute thread only: bulk indexing elsewhere keeps every core.
        faiss.omp_set_num_threads(1)
        if torch.get_num_threads() != torch_threads:
            # FAISS and torch share one OpenMP runtime when torch was imported first (this
            # module imports FAISS first to avoid it): torch's threads matter more (the
            # reader took 60 ms instead of 40 on one thread)
            torch.set_num_threads(torch_threads)
        self.embedder.warm_up()
        self.store, report = open_index(s, self.embedder)
        self.repairs = report
        parser = Parser.from_settings(s)  # HTML and PDF parsed in bounded workers
        self.indexer = Indexer(self.store, self.embedder, Chunker.from_settings(s), parser)
        retriever = HybridRetriever(
            self.store, self.embedder, s.candidates, fusion=s.fusion, dense_weight=s.dense_weight
        )
        self.reader.warm_up()
        self.answerer = Answerer(
            retriever,
            self.reader,
            threshold=self._threshold(),
            read_words=s.read_words,
            retrieval_weight=s.retrieval_weight,
        )
        self.feedback = FeedbackBook(self.store, self.answerer.threshold)
        return report

    def start_jobs(self, describe: Describe = plain_failure) -> Jobs:
        """The long writes' jobs of this index (:mod:`rag.service.jobs`), started once:
        jobs a stop left are run again or reported failed. Only a server starts them, so
        that a command such as ``rag ask`` on the same index never runs a job."""
        if self.jobs is None:
            self.jobs = Jobs(JobStore(self.settings.index_dir), self.indexer, describe)
            self.jobs.start()
        return self.jobs

    def stop_writes(self) -> None:
        """On SIGTERM, at once: uploads under way end with :class:`ShuttingDown` (their
        parse or split killed, their embedding stopped at the next slice), nothing of
        them stored; questions go on until the server stops. A job under way is left to
        run again on the next start."""
        if self.jobs is not None:
            self.jobs.stop()
        if self.indexer is not None:
            self.indexer.stop()

    def close(self) -> None:
        if self.jobs is not None:
            self.stop_writes()  # the running job ends at its next slice, left to resume
            self.jobs.close()
        if self.indexer is not None:
            self.indexer.close()  # its workers, any parse under way, then the last write
        if self.store is not None:
            self.store.close()

    # ------------------------------------------------------------------ writes

    def add_document(self, document: Document) -> tuple[Document, bool]:
        """Chunk, embed and store a document; it is answerable when this returns."""
        return self.indexer.add_documents([document])[0]

    def add_documents(self, documents: list[Document]) -> list[tuple[Document, bool]]:
        return self.indexer.add_documents(documents)

    def index_paths(
        self, paths: Iterable[Path], progress: bool = False
    ) -> tuple[list[tuple[Document, bool]], list[str]]:
        return self.indexer.index_paths(paths, progress)

    def ensure_index(self, progress: bool = False) -> int:
        """Build the index from ``docs_dir`` when it is empty (first start); documents added."""
        return self.indexer.ensure_index(self.settings.docs_dir, progress)

    def delete_document(self, doc_id: str) -> bool:
        return self.indexer.delete(doc_id)

    # ------------------------------------------------------------------ reads

    @staticmethod
    def _clean_question(question: str) -> str:
        question = " ".join(ingest.sanitize(question).split())
        if not question:
            raise QuestionError("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise QuestionError(f"the question is longer than {MAX_QUESTION_CHARS} characters")
        return question

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        timeout: float | None = None,
        history: Sequence[Turn] | None = None,
        selection: Selection | None = None,
    ) -> AskResult:
        """Answer from the index, on the compute thread, batched with questions that
        arrive meanwhile. Past ``timeout`` seconds it raises ``TimeoutError``, and a
        question still waiting in the queue is dropped rather than answered for nobody.

        ``history``: the conversation's earlier turns, oldest first; a follow-up ("Who
        invited him?") is answered as the standalone question it resolves to, given
        back as ``resolved_question``."""
        question = self._clean_question(question)
        resolved = resolve(question, self._clean_history(history)) if history else question
        k = top_k if top_k is not None else self.settings.top_k
        result = self._questions.run((resolved, k, selection), timeout)
        result.question, result.resolved_question = question, resolved
        # users' verdicts on this question in these collections, at once
        return self.feedback.apply(result, selection.collections if selection else None)

    def _clean_history(self, history: Sequence[Turn]) -> list[Turn]:
        """The turns, cleaned as questions are (an empty answer is an abstention)."""
        if len(history) > MAX_TURNS:
            raise QuestionError(f"the history holds more than {MAX_TURNS} turns")
        turns = []
        for turn in history:
            answer = " ".join(ingest.sanitize(turn.answer or "").split())[:MAX_QUESTION_CHARS]
            turns.append(Turn(self._clean_question(turn.question), answer or None))
        return turns

    def search(
        self,
        query: str,
        top_k: int | None = None,
        timeout: float | None = None,
        selection: Selection | None = None,
    ) -> list[Citation]:
        """The passages hybrid retrieval finds for ``query`` (in ``selection``), best
        first, without reading them (the MCP ``search`` tool)."""
        query = self._clean_question(query)
        k = top_k if top_k is not None else self.settings.top_k
        retrieve = self.answerer.retriever.retrieve_timed
        future = compute.submit(retrieve, query, k, None, selection)
        passages, _ = future.result(timeout)
        return [citation(p) for p in passages]

    @property
    def questions_waiting(self) -> int:
        """Questions queued for the compute thread now (a metric)."""
        return self._questions.waiting

    def health(self) -> dict:
        """What is served, and whether it can be trusted: "degraded", with the problems,
        when vectors and passages disagree, the start had to repair the index (a crash or
        an outside change), or the database cannot be read."""
        problems = []
        r = self.repairs
        if r.added or r.removed or r.rebuilt:
            problems.append(
                f"repaired on start: {r.added} vectors added, {r.removed} removed"
                + (", dense index rebuilt" if r.rebuilt else "")
            )
        try:
            docs, chunks = self.store.counts()
            vectors = self.store.vector_count()
        except StoreError as exc:
            docs = chunks = vectors = 0
            problems.append(str(exc))
        if vectors != chunks:
            problems.append(f"{vectors} vectors for {chunks} passages")
        return {
            "status": "degraded" if problems else "ok",
            "problems": problems,
            "store": self.store.name,
            "documents": docs,
            "chunks": chunks,
            "vectors": vectors,
            "embedding_model": self.embedder.identity,
            "reader": self.reader.model_name,
            "threshold": self.threshold,
            "file_types": list(ingest.SUPPORTED_SUFFIXES),
        }
