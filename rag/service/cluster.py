"""``rag index DIR --ray [ADDRESS]``: a folder indexed on a Ray cluster, stored by one writer.

This process (the driver) lists the files in the order ``rag index`` does, looks up
which of them the store already holds with the same content, and builds a Ray Dataset
of the others' paths. The cluster's workers read, parse (through the same bounded
:class:`~rag.documents.parsing.Parser`) and chunk them in one stage and embed the
passages in another (:mod:`rag.service.cluster_stages`: long-lived actors, the model
loaded once in each); the driver consumes the results as they stream in, in file
order, and stores each batch with one ``add_many`` of the store it has open, so that a
document is stored whole (all its passages, one vector each) and only one process
ever writes the index. The result is the index ``rag index`` makes of the same folder.

Crashes: the store is the truth. Ray retries the work of a lost worker or node (its
actors are restarted, their lost outputs made again); should a run still fail, the
files not yet stored are run again, up to :data:`ATTEMPTS` times. A file stored twice
cannot be: a document replaces the one of its id, and content already stored is not
stored again. A new run after a crash embeds nothing that was stored.

Ray is optional (``pip install -e '.[cluster]'``); nothing here imports it until a run.
"""

from __future__ import annotations

import logging
import math
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from rag.core.filters import DEFAULT_COLLECTION
from rag.core.selection import document_id
from rag.core.settings import Settings
from rag.documents import ingest
from rag.service.cluster_stages import EmbedPassages, ParseFiles, embedder_fields, load_document
from rag.service.indexing import Indexer
from rag.service.progress import Progress

log = logging.getLogger(__name__)
INSTALL = "ray is not installed: pip install -e '.[cluster]'"
#: Files per parse call and per embedding call (Ray Data's batch), and per store write.
FILES_PER_BATCH = 16
#: Runs over the files not yet stored, when the cluster lost work it could not redo.
ATTEMPTS = 3


class ClusterError(RuntimeError):
    """Ray is missing, the cluster cannot be reached, or it failed the run: one line."""


@dataclass
class ClusterReport:
    """What a run did: files added, unchanged (already stored) and failed (one line
    each), passages embedded and stored, the embedding workers, and its seconds."""

    added: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    passages: int = 0
    workers: int = 0
    seconds: float = 0.0


def import_ray():
    """The ``ray`` module, or a :class:`ClusterError` saying how to install it."""
    try:
        import ray
        import ray.data  # the extra installs ray[data]
    except ImportError:
        raise ClusterError(INSTALL) from None
    return ray


@contextmanager
def connected(address: str | None) -> Iterator:
    """Ray, connected to the cluster at ``address`` (None: a new local one, ended on
    exit); a connection already made (a test, a notebook) is used as it is."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    where = address or "local"
    _check_reachable(where)
    try:
        ray.init(
            address=where,
            log_to_driver=False,
            logging_level=logging.WARNING,
            **({"include_dashboard": False} if where == "local" else {}),
        )
    except (ConnectionError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterError(f"cannot connect to the Ray cluster at {where}: {first}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_reachable(address: str) -> None:
    """A ``host:port`` that answers, or a :class:`ClusterError` in seconds: Ray itself
    retries an address that does not answer for minutes."""
    host, colon, port = address.rpartition(":")
    if not colon or not port.isdigit() or "://" in address:
        return  # "local", "auto" (Ray says at once if there is none), a ray:// client
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        raise ClusterError(f"cannot connect to the Ray cluster at {address}: {why}") from None


class ClusterIndexer:
    """Indexes files on the Ray cluster this process is connected to, into the store of
    ``indexer`` (whose chunker, parse limits and embedder, as ``settings`` choose it,
    the workers use).

    ``workers``: embedding actors (default: the cluster's CPUs / ``cpus_per_worker``),
    each with ``cpus_per_worker`` CPUs and as many torch threads; the parse actors, as
    many, reserve no CPU (a parse runs in the parser's own bounded processes)."""

    def __init__(
        self,
        indexer: Indexer,
        settings: Settings,
        workers: int | None = None,
        cpus_per_worker: int = 1,
        files_per_batch: int = FILES_PER_BATCH,
    ) -> None:
        self.indexer = indexer
        self.store = indexer.store
        identity = indexer.embedder.identity
        self.embedder_fields = embedder_fields(settings, identity, cpus_per_worker)
        self.workers = workers
        self.cpus_per_worker = cpus_per_worker
        self.files_per_batch = files_per_batch

    def index_paths(
        self,
        paths: Iterable[Path],
        *,
        collection: str = DEFAULT_COLLECTION,
        metadata: dict | None = None,
        bar: bool = False,
        progress: Progress | None = None,
    ) -> ClusterReport:
        """Index every supported file under ``paths``, as
        :meth:`rag.service.indexing.Indexer.index_paths` does; ``progress(files done,
        files)`` after each write, ``bar``: a terminal bar of the same."""
        ray = import_ray()
        started = time.monotonic()
        files = [str(p) for p in ingest.iter_files(paths)]
        report, done = ClusterReport(), set()
        with tqdm(total=len(files), desc="indexing", unit="file", disable=not bar) as shown:

            def advance(paths_written: list[str]) -> None:
                done.update(paths_written)
                shown.update(len(paths_written))
                shown.set_postfix(passages=report.passages, refresh=False)
                if progress is not None:
                    progress(len(done), len(files))

            for attempt in range(1, ATTEMPTS + 1):
                todo = [f for f in files if f not in done]
                if not todo:
                    break
                try:
                    self._run(ray, todo, collection, metadata, report, advance)
                    break
                except ray.exceptions.RayError as exc:
                    if attempt == ATTEMPTS or not _retryable(ray, exc):
                        raise ClusterError(f"the Ray run failed: {_reason(exc)}") from None
                    log.warning("the Ray run failed (%s); running the rest again", _reason(exc))
        report.seconds = time.monotonic() - started
        return report

    def _run(self, ray, files: list[str], collection, metadata, report, advance) -> None:
        """One streaming run over ``files``: each block of results stored as it comes."""
        dataset = self._dataset(ray, files, collection, metadata, report)
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            items, written = [], []
            for path, doc, error, stored, vectors in zip(
                *(batch[k] for k in ("path", "doc", "error", "stored", "vectors")), strict=True
            ):
                written.append(str(path))
                if error:
                    report.errors.append(str(error))
                elif stored:
                    report.unchanged += 1
                else:
                    items.append(load_document(str(doc), bytes(vectors)))
            self._store(items, report)
            advance(written)

    def _store(self, items: list, report: ClusterReport) -> None:
        """One write of whole documents, checked against the store's dimension."""
        if not items:
            return
        for document, _, vectors in items:
            if len(vectors) and vectors.shape[1] != self.store.dimension:
                raise ClusterError(
                    f"{document.source}: the workers' vectors have {vectors.shape[1]} "
                    f"dimensions, the index {self.store.dimension}: the same model on every node"
                )
        results = self.store.add_many(items)
        created = sum(new for _, new in results)
        report.added += created
        report.unchanged += len(results) - created
        report.passages += sum(len(chunks) for _, chunks, _ in items)

    def _dataset(self, ray, files: list[str], collection, metadata, report):
        """The lazy dataset: paths (and the content hash stored under each one's id) →
        parsed and chunked → embedded, in file order."""
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # stored in rag index's order
        context.enable_progress_bars = False  # ours counts files stored
        context.print_on_execution_start = False
        # its lines on bars and stats, and a failure's stack (the run fails with its reason)
        logging.getLogger("ray.data").setLevel(logging.CRITICAL)
        known = self._known(files, collection)
        rows = [{"path": p, "known": k} for p, k in zip(files, known, strict=True)]
        workers = self._workers(ray)
        # a small folder is cut finer, so that every worker gets a few batches
        size = min(self.files_per_batch, max(1, math.ceil(len(rows) / (4 * workers))))
        blocks = math.ceil(len(rows) / size)
        workers = report.workers = min(workers, blocks)  # no idle actors
        indexer = self.indexer
        return (
            ray.data.from_items(rows, override_num_blocks=blocks)
            .map_batches(
                ParseFiles,
                fn_constructor_args=(indexer.parser.limits, indexer.chunker, collection, metadata),
                batch_size=size,
                compute=ray.data.ActorPoolStrategy(size=workers),
                num_cpus=0,
            )
            .map_batches(
                EmbedPassages,
                fn_constructor_args=(self.embedder_fields, indexer.embedder.identity),
                batch_size=size,
                compute=ray.data.ActorPoolStrategy(size=workers),
                num_cpus=self.cpus_per_worker,
            )
        )

    def _known(self, files: list[str], collection: str) -> list[str]:
        """The content hash the store holds under the id each file gets ("" for none, or
        for a file whose id will be its content's hash): what need not be embedded."""
        known = []
        for path in files:
            base = ingest.doc_id_from_name(Path(path).name)
            stored = self.store.document(document_id(collection, base)) if base else None
            known.append(stored.content_hash if stored is not None else "")
        return known

    def _workers(self, ray) -> int:
        """The embedding actors: as asked, else as many as the cluster's CPUs hold."""
        if self.workers:
            return self.workers
        cpus = ray.cluster_resources().get("CPU", 1)
        return max(1, int(cpus // self.cpus_per_worker))


def _retryable(ray, exc: BaseException) -> bool:
    """Whether a failed run is worth running again: the cluster lost a worker, a node or
    an object, rather than a stage raising on every try."""
    lost = (
        ray.exceptions.ActorDiedError,
        ray.exceptions.ActorUnavailableError,
        ray.exceptions.NodeDiedError,
        ray.exceptions.ObjectLostError,
        ray.exceptions.OwnerDiedError,
        ray.exceptions.RaySystemError,
        ray.exceptions.WorkerCrashedError,
    )
    if getattr(exc, "actor_init_failed", False):
        return False  # a stage's constructor raised: it would again
    return isinstance(exc, lost) or isinstance(getattr(exc, "cause", None), lost)


def _reason(exc: BaseException) -> str:
    """One line of why a run failed: the exception a stage raised (a worker's embedder
    refused, a parse bug), else the first line of Ray's."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, Exception) and "ray.exceptions" not in type(cause).__module__:
        return _first_line(cause)
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if getattr(exc, "actor_init_failed", False) and ": " in lines[-1]:
        return lines[-1].split(": ", 1)[1]  # the constructor's "module.Error: message"
    return lines[0] if lines else type(exc).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
