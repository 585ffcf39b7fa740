"""``rag eval``: SQuAD scores of the reader alone or of the whole pipeline.

Open mode indexes every paragraph of the file into a throwaway index (never the
user's) and asks every question through retrieval and reading, as a user would.
``--reader-only`` gives the reader each question's gold paragraph instead.

Two scores are reported. The v1.1 EM/F1 score the best span whether or not the
service would have shown it. The v2.0 scores (official SQuAD 2.0 metric) score what
a user gets: an abstention is the empty answer, right exactly where the question has
no answer (``is_impossible`` in a SQuAD 2.0 file, see ``rag perturb``).

Calibration mode asks answerable and unanswerable questions (those marked impossible,
and those of articles it leaves out of the index) and picks the abstention threshold
that maximises right answers plus right abstentions (v2.0 F1) over that mix.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from rag.core.settings import Settings
from rag.core.types import Document
from rag.documents.ingest import make_document
from rag.evaluation import squad
from rag.evaluation.calibration import choose_threshold, expected_f1
from rag.evaluation.report import answer_scores, reading_summary
from rag.service.pipeline import Pipeline

READ_BATCH = 32


def paragraph_documents(examples: Sequence[squad.Example]) -> list[Document]:
    """One document per paragraph of ``examples``, its source ``article#paragraph``."""
    paragraphs = {(e.article, e.paragraph): e.context for e in examples}
    return [
        make_document(
            context,
            title=article.split(":", 1)[-1].replace("_", " "),
            source=f"{article}#{p_idx}",
        )
        for (article, p_idx), context in sorted(paragraphs.items())
    ]


def index_paragraphs(pipeline: Pipeline, examples: Sequence[squad.Example]) -> int:
    """Index the paragraphs of ``examples`` (one document each); how many."""
    documents = paragraph_documents(examples)
    with tqdm(total=len(documents), desc="indexing paragraphs", unit="para") as bar:
        for lo in range(0, len(documents), 256):
            pipeline.add_documents(documents[lo : lo + 256])
            bar.update(len(documents[lo : lo + 256]))
    return len(documents)


def throwaway_pipeline(settings: Settings, reader, embedder, tmp: str) -> Pipeline:
    """A pipeline over a fresh index in ``tmp``, never the user's."""
    pipeline = Pipeline(
        settings.model_copy(update={"index_dir": Path(tmp) / "index"}),
        reader=reader,
        embedder=embedder,
    )
    pipeline.load()
    return pipeline


def _gold_rank(passages, ex: squad.Example) -> int | None:
    """1-based rank of the first retrieved passage cut from the question's own paragraph."""
    for rank, passage in enumerate(passages, start=1):
        text = passage.chunk.text.strip()
        if text and text in ex.context:
            return rank
    return None


def _ask_all(pipeline: Pipeline, examples: Sequence[squad.Example], top_k: int | None) -> list:
    rows = []
    for ex in tqdm(examples, desc="asking", unit="q"):
        result = pipeline.ask(ex.question, top_k)
        best = result.answers[0] if result.answers else None
        gold = [squad.normalize_answer(a) for a in ex.answers]
        found = any(
            g and g in squad.normalize_answer(p.text) for p in result.passages for g in gold
        )
        rank = None
        if not ex.impossible:
            # retrieval alone, five deep, to report recall@1 and @5 whatever top_k is
            ranked, _ = pipeline.answerer.retriever.retrieve_timed(ex.question, 5)
            rank = _gold_rank(ranked, ex)
        rows.append(
            {
                "id": ex.id,
                "prediction": best.text if best else "",
                "confidence": best.confidence if best else 0.0,
                "answered": result.answer is not None,
                "retrieved": found,
                "gold_rank": rank,
                "impossible": ex.impossible,
                "ms": result.took_ms,
            }
        )
    return rows


def _read_gold_paragraphs(pipeline: Pipeline, examples: Sequence[squad.Example]) -> list:
    """Each question with its gold paragraph, in batches (one forward pass per batch);
    the latency reported is the batch time shared among its questions."""
    reader = pipeline.reader
    rows = []
    with tqdm(total=len(examples), desc="reading", unit="q") as bar:
        for lo in range(0, len(examples), READ_BATCH):
            part = examples[lo : lo + READ_BATCH]
            t0 = time.perf_counter()
            per_pair = reader.read_pairs([e.question for e in part], [e.context for e in part])
            ms = (time.perf_counter() - t0) * 1000 / len(part)
            for ex, spans in zip(part, per_pair, strict=True):
                conf = spans[0].confidence if spans else 0.0
                rows.append(
                    {
                        "id": ex.id,
                        "prediction": spans[0].text if spans else "",
                        "confidence": conf,
                        "answered": conf >= pipeline.threshold,
                        "retrieved": True,
                        "impossible": ex.impossible,
                        "ms": ms,
                    }
                )
            bar.update(len(part))
    return rows


def evaluate(
    file: Path,
    settings: Settings,
    *,
    reader_only: bool = False,
    limit: int | None = None,
    top_k: int | None = None,
    seed: int = 13,
    reader=None,
    embedder=None,
) -> tuple[dict, dict[str, str]]:
    """Scores and the predictions ({id: best span, even where the service would abstain}).

    ``limit`` asks a random sample of the questions; open mode still indexes every
    paragraph of the file."""
    every = squad.load([file])
    examples = every
    if limit is not None and limit < len(examples):
        examples = random.Random(seed).sample(examples, limit)
    report: dict = {
        "file": str(file),
        "mode": "reader-only" if reader_only else "open",
        "questions": len(examples),
    }
    if reader_only:
        pipeline = Pipeline(settings, reader=reader, embedder=embedder)
        pipeline.reader.warm_up()
        rows = _read_gold_paragraphs(pipeline, examples)
    else:
        with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
            pipeline = throwaway_pipeline(settings, reader, embedder, tmp)
            # every paragraph of the file, not only the sampled questions' own: a sample
            # must not make the haystack smaller
            report["paragraphs"] = index_paragraphs(pipeline, every)
            rows = _ask_all(pipeline, examples, top_k)
            pipeline.close()
    report.update(answer_scores(rows, examples))
    report.update(reading_summary(rows, pipeline.threshold, pipeline.reader.model_name))
    return report, {r["id"]: r["prediction"] for r in rows}


def calibrate(
    file: Path,
    settings: Settings,
    *,
    unanswerable_share: float = 0.33,
    limit: int | None = None,
    seed: int = 13,
    reader=None,
    embedder=None,
) -> dict:
    """Choose the abstention threshold on answerable and unanswerable questions: those
    marked impossible (the topic is indexed, the fact is not) and those of the articles
    left out of the index (the topic is not there at all)."""
    every = squad.load([file])
    examples = every
    articles = sorted({e.article for e in examples})
    rng = random.Random(seed)
    held_out = set(rng.sample(articles, max(1, round(len(articles) * unanswerable_share))))
    if limit is not None and limit < len(examples):
        examples = rng.sample(examples, limit)
    indexed = [e for e in every if e.article not in held_out]
    with tempfile.TemporaryDirectory(prefix="rag-calibrate-") as tmp:
        pipeline = throwaway_pipeline(settings, reader, embedder, tmp)
        index_paragraphs(pipeline, indexed)
        rows = _ask_all(pipeline, examples, None)
        pipeline.close()
    answerable, unanswerable, impossible = [], [], 0
    for ex, row in zip(examples, rows, strict=True):
        if ex.article in held_out or ex.impossible:
            unanswerable.append(row["confidence"])
            impossible += ex.impossible and ex.article not in held_out
        else:
            f1 = squad.best_over_truths(squad.f1_score, row["prediction"], ex.answers)
            answerable.append((row["confidence"], f1))
    threshold = choose_threshold(answerable, unanswerable)
    expected = expected_f1(answerable, unanswerable, threshold)
    return {
        "threshold": round(threshold, 4),
        "answerable_questions": len(answerable),
        "unanswerable_questions": len(unanswerable),
        "unanswerable_marked_impossible": impossible,
        "expected_f1_at_threshold": round(100 * expected, 2),
        "answerable_answered": round(
            100 * sum(c >= threshold for c, _ in answerable) / max(len(answerable), 1), 2
        ),
        "unanswerable_abstained": round(
            100 * sum(c < threshold for c in unanswerable) / max(len(unanswerable), 1), 2
        ),
        "held_out_articles": sorted(held_out),
    }


def calibration_note(report: dict, file: Path) -> str:
    """How a :func:`calibrate` report chose its threshold, as stored beside the reader's
    weights (:func:`rag.evaluation.calibration.write_threshold`)."""
    return (
        f"rag eval --calibrate on {Path(file).name}: {report['answerable_questions']} answerable "
        f"and {report['unanswerable_questions']} unanswerable questions "
        f"({report.get('unanswerable_marked_impossible', 0)} marked impossible, the others "
        "from articles not indexed), maximising right answers plus right abstentions "
        "(SQuAD 2.0 F1) through the full pipeline"
    )
