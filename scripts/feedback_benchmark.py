"""Feedback as training data, measured: does a short fine-tune on users' corrections make
the reader better on *other* questions about the same documents?

Over the news articles in ``benchmarks/data/feedback/articles`` (written for this; not
SQuAD), with the 60 questions of ``benchmarks/data/feedback/questions.json``:

1. index the articles (a throwaway index under ``--workdir``) with the packaged reader;
2. score the 30 ``eval`` questions: the reader alone on the stored passage that holds the
   answer, and the whole service (retrieval + reading; F1 of the best span, and of what a
   user is shown, an abstention counting as the empty answer);
3. give the 30 ``correct`` questions as corrections (``FeedbackBook.record``, what
   ``POST /feedback`` does), check that each is answered at once as confirmed, and export
   them (``rag.training.feedback``, what ``rag feedback export`` does);
4. fine-tune: ``nice -n 19 rag train-reader --init rag/models/reader train.json`` for
   ``--minutes`` on the CPU (one article's corrections held out to pick the checkpoint);
5. score the ``eval`` questions again with the fine-tuned reader.

Usage (from the repository root)::

    python scripts/feedback_benchmark.py --minutes 4 --out docs/bench/feedback.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.core.settings import Settings  # noqa: E402
from rag.evaluation.squad import f1_score  # noqa: E402
from rag.reading.loading import load_reader  # noqa: E402
from rag.service.pipeline import Pipeline  # noqa: E402
from rag.training.feedback import export_feedback, squad_v2  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "feedback"


def questions() -> list[dict]:
    return json.loads((DATA / "questions.json").read_text())["questions"]


def locate(pipeline: Pipeline, q: dict) -> dict:
    """The question's document, span, and the stored passage that holds it."""
    doc = pipeline.store.document(q["article"])  # the file's name is its id
    text = doc.text
    start = text.index(q["answer"])
    end = start + len(q["answer"])
    chunk = next(
        c for c in pipeline.store.document_chunks(doc.doc_id) if c.start <= start and end <= c.end
    )
    return {"doc_id": doc.doc_id, "start": start, "end": end, "chunk": chunk}


def score(pipeline: Pipeline, reader, cases: list[dict]) -> dict:
    """Mean F1 (in %) of the reader alone on each gold passage, and of the service."""
    spans = reader.read_pairs([c["question"] for c in cases], [c["chunk"].text for c in cases])
    read = [found[0].text if found else "" for found in spans]
    alone = [f1_score(text, c["answer"]) for c, text in zip(cases, read, strict=True)]
    best, shown = [], []
    for c in cases:
        result = pipeline.ask(c["question"])
        best.append(f1_score(result.answers[0].text if result.answers else "", c["answer"]))
        shown.append(f1_score(result.answer or "", c["answer"]))

    def mean(xs: list[float]) -> float:
        return round(100 * sum(xs) / len(xs), 1)

    return {
        "reader_alone_f1": mean(alone),
        "service_best_span_f1": mean(best),
        "service_shown_f1": mean(shown),
        "answered": sum(bool(s) for s in shown),
        "reader_misses": {
            c["question"]: text for c, text, f1 in zip(cases, read, alone, strict=True) if f1 < 1
        },
    }


def pipeline_for(settings: Settings, reader, threshold: float) -> Pipeline:
    """A pipeline with ``reader`` and the packaged reader's threshold: a fine-tune on a
    few questions recalibrates on the handful it holds out, too few to choose one."""
    p = Pipeline(settings.model_copy(update={"min_confidence": threshold}), reader=reader)
    p.load()
    return p


def give_corrections(pipeline: Pipeline, corrections: list[dict], workdir: Path) -> dict:
    """Record the corrections as users would, check they count at once, export them."""
    for c in corrections:
        pipeline.feedback.record(
            c["question"], "corrected", doc_id=c["doc_id"], start=c["start"], end=c["end"]
        )
    confirmed = sum(pipeline.ask(c["question"]).confirmed for c in corrections)

    def best(question: str):
        found = pipeline.search(question, 1)
        return (found[0].text, found[0].doc_id) if found else None

    exported = export_feedback(pipeline.store, best, workdir / "train.json")
    return {"confirmed_at_once": confirmed, "exported": exported}


def write_eval_file(evals: list[dict], path: Path) -> None:
    """The eval questions as SQuAD v2.0 over their stored passages (for `rag eval`)."""
    rows = [
        {
            "id": f"eval-{i}",
            "question": c["question"],
            "context": c["chunk"].text,
            "article": c["doc_id"],
            "answers": [{"text": c["answer"], "answer_start": c["start"] - c["chunk"].start}],
            "is_impossible": False,
        }
        for i, c in enumerate(evals)
    ]
    path.write_text(json.dumps(squad_v2(rows), indent=1))


def fine_tune(args: argparse.Namespace, docs: Path) -> dict:
    """`rag train-reader --init rag/models/reader train.json`, niced; its time."""
    command = [
        "nice", "-n", "19", sys.executable, "-m", "rag", "train-reader",
        str(args.workdir / "train.json"), "--init", str(ROOT / "rag" / "models" / "reader"),
        "--output", str(args.workdir / "run"), "--minutes", str(args.minutes),
        "--epochs", str(args.epochs), "--lr", str(args.lr), "--val-articles", "1",
        "--batch-size", "8", "--eval-every", "0.5", "--retrieved-negatives", "0",
        "--ema", "0",
    ]  # fmt: skip
    t0 = time.time()
    subprocess.run(command, check=True, cwd=ROOT, env={**os.environ, "RAG_DOCS_DIR": str(docs)})
    return {"seconds": round(time.time() - t0), "command": " ".join(command[3:])}


def score_tuned(settings: Settings, run: Path, threshold: float, cases: dict) -> dict:
    """The eval questions with the best checkpoint and with the final weights. The
    validation article is answered perfectly from the first validation on, so `best` is
    the first checkpoint (ties keep the earlier one); the weights at the end of the
    fine-tune are the last validated candidate."""
    final = run / "candidate" if (run / "candidate" / "config.json").is_file() else run / "best"
    report = {}
    for name, folder in (("best_checkpoint", run / "best"), ("final_weights", final)):
        tuned = load_reader(str(folder))
        pipeline = pipeline_for(settings, tuned, threshold)
        report[f"eval_after_{name}"] = score(pipeline, tuned, cases["eval"])
        if name == "final_weights":  # answered from the feedback as well
            report["corrected_after_with_feedback"] = score(pipeline, tuned, cases["correct"])
        pipeline.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=4.0, help="fine-tuning time budget")
    parser.add_argument("--epochs", type=float, default=20.0)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rag-feedback-bench"))
    parser.add_argument("--out", type=Path, help="also write the JSON report here")
    args = parser.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    docs = args.workdir / "docs"
    shutil.copytree(DATA / "articles", docs)
    settings = Settings(docs_dir=docs, index_dir=args.workdir / "index", reader_model="fast")
    packaged = load_reader("fast")
    pipeline = pipeline_for(settings, packaged, packaged.threshold)
    pipeline.ensure_index()
    located = [{**q, **locate(pipeline, q)} for q in questions()]
    cases = {use: [c for c in located if c["use"] == use] for use in ("eval", "correct")}
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "date": date.today().isoformat(),
        "articles": len({c["article"] for c in located}),
        "eval_questions": len(cases["eval"]),
        "corrections": len(cases["correct"]),
        "eval_before": score(pipeline, packaged, cases["eval"]),
        "corrected_before": score(pipeline, packaged, cases["correct"]),
    }
    report.update(give_corrections(pipeline, cases["correct"], args.workdir))
    write_eval_file(cases["eval"], args.workdir / "eval.json")
    pipeline.close()
    report["fine_tune"] = fine_tune(args, docs)
    report.update(score_tuned(settings, args.workdir / "run", packaged.threshold, cases))
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
