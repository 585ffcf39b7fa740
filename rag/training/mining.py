"""Hard negatives mined with the project's own retriever, for training the reader.

At serving time the reader sees what hybrid retrieval returns: passages on the
question's topic, sharing its words, often without its answer. The negatives that
teach it to say "not here" there are those passages themselves: every paragraph of
the training set is indexed into a throwaway index (the same chunking, embeddings,
BM25 and fusion as the service), each question is retrieved, and the best-ranked
passage that is neither cut from the question's own paragraph nor holds a gold
answer becomes its negative. Mining 88k questions takes minutes on a CPU, so the
result is kept in a JSON file next to the run and reused on resume.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from rag.core.settings import Settings, get_settings
from rag.evaluation import squad

if TYPE_CHECKING:
    from rag.training.config import TrainConfig

log = logging.getLogger(__name__)
#: Passages retrieved per question; the first one without the answer is kept.
DEPTH = 5
#: Questions embedded together.
QUESTION_BATCH = 256


def first_without_answer(
    passages: Sequence[tuple[str, str]], own: str, answers: Sequence[str]
) -> str | None:
    """The text of the first (paragraph key, text) passage that is not cut from ``own``
    and mentions no gold answer (normalised, as SQuAD scores them)."""
    gold = [f" {squad.normalize_answer(a)} " for a in answers if squad.normalize_answer(a)]
    for key, text in passages:
        if key == own:
            continue
        norm = f" {squad.normalize_answer(text)} "
        if not any(g in norm for g in gold):
            return text
    return None


def mine(
    examples: Sequence[squad.Example],
    settings: Settings | None = None,
    depth: int = DEPTH,
    progress: bool = True,
) -> dict[str, str]:
    """Question id → the passage hybrid retrieval ranks highest for it among those
    without its answer (questions whose top ``depth`` all hold it get none)."""
    # the service's parts load here, not on import: a run that reuses a mined file
    # needs none of them (nor faiss), e.g. on a GPU machine with torch alone
    from rag.core import compute
    from rag.documents.chunking import Chunker
    from rag.evaluation.evaluate import paragraph_documents
    from rag.retrieval.embedding import Embedder
    from rag.retrieval.hybrid import HybridRetriever
    from rag.service.indexing import Indexer, open_index

    base = settings if settings is not None else get_settings()
    answerable = [e for e in examples if e.answers]
    documents = paragraph_documents(examples)
    # identical paragraphs of two articles are one document: either key will do
    keys = {d.doc_id: d.source for d in documents}
    embedder = Embedder(base.embedding_model, cache_size=0)
    compute.compute(embedder.warm_up)
    mined: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="rag-mining-") as tmp:
        s = base.model_copy(update={"index_dir": Path(tmp), "store": "sqlite"})
        store, _ = open_index(s, embedder)
        try:
            indexer = Indexer(store, embedder, Chunker.from_settings(s))
            with tqdm(total=len(documents), desc="mining: indexing", disable=not progress) as bar:
                for lo in range(0, len(documents), 512):
                    indexer.add_documents(documents[lo : lo + 512])
                    bar.update(len(documents[lo : lo + 512]))
            retriever = HybridRetriever(
                store, embedder, s.candidates, fusion=s.fusion, dense_weight=s.dense_weight
            )
            with tqdm(
                total=len(answerable), desc="mining: retrieving", disable=not progress
            ) as bar:
                for lo in range(0, len(answerable), QUESTION_BATCH):
                    batch = answerable[lo : lo + QUESTION_BATCH]
                    vectors = compute.compute(embedder.embed, [e.question for e in batch])
                    for ex, vector in zip(batch, vectors, strict=True):
                        passages, _ = retriever.retrieve_timed(ex.question, depth, vector=vector)
                        text = first_without_answer(
                            [(keys.get(p.chunk.doc_id, ""), p.chunk.text) for p in passages],
                            f"{ex.article}#{ex.paragraph}",
                            ex.answers,
                        )
                        if text is not None:
                            mined[ex.id] = text
                    bar.update(len(batch))
        finally:
            store.close()
    log.info("mined %d retrieved negatives for %d questions", len(mined), len(answerable))
    return mined


def mined_negatives(
    examples: Sequence[squad.Example],
    cache: Path,
    settings: Settings | None = None,
    reuse: Sequence[Path] = (),
) -> dict[str, str]:
    """:func:`mine`, or the file a previous call wrote for the same questions: this
    run's own (an interrupted run) or one of ``reuse`` (an earlier stage of a recipe,
    copied into ``cache`` so that the run folder stands alone). Files are written whole
    or not at all."""
    key = _cache_key(examples)
    for path in [cache, *reuse]:
        if path.is_file():
            saved = json.loads(path.read_text())
            if {k: saved.get(k) for k in ("questions", "first")} == key:
                if path != cache:
                    save(cache, examples, saved["negatives"])
                return saved["negatives"]
    negatives = mine(examples, settings)
    save(cache, examples, negatives)
    return negatives


def _cache_key(examples: Sequence[squad.Example]) -> dict:
    """What ties a cache file to its questions: their number and the first id."""
    ids = sorted(e.id for e in examples if e.answers)
    return {"questions": len(ids), "first": ids[:1]}


def save(cache: Path, examples: Sequence[squad.Example], negatives: Mapping[str, str]) -> None:
    """Write the negatives of ``examples`` where :func:`mined_negatives` will reuse them
    (e.g. a full run's, kept for a sample); whole or not at all."""
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(_cache_key(examples) | {"negatives": dict(negatives)}))
    tmp.replace(cache)


def load(cache: Path) -> Mapping[str, str]:
    return json.loads(cache.read_text())["negatives"] if cache.is_file() else {}


def mine_for_run(
    cfg: TrainConfig, train: Sequence[squad.Example], echo: Callable[[str], None]
) -> None:
    """A run's retrieved negatives, mined (or reused) before its first epoch, when it
    draws any: every epoch then reads them from ``cfg.mined_path``."""
    if cfg.retrieved_negatives > 0:
        mined = mined_negatives(train, cfg.mined_path, reuse=cfg.mined_from)
        echo(f"retrieved negatives: {len(mined)} questions ({cfg.mined_path})")
