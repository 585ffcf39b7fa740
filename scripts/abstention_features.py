"""Would more than the answer's confidence decide abstention better?

Asks the calibration mix of ``rag eval --calibrate`` (answerable questions, questions
marked impossible, and questions of articles left out of the index) through the
pipeline, keeps a few signals per question (the best answer's confidence, the
runner-up's, their margin, the retrieval scores of its sources and of the passages read,
how many documents and passages gave it), and compares, by two-fold cross-validation over
articles (ten random splits), the expected F1 of a threshold on the confidence alone
with that of a threshold on a logistic model of those signals fitted on the other fold.

    python scripts/abstention_features.py runs/dev-v2.json 2000 [OUT.json]

Prints one line per set of signals. Used for docs/training.md ("Calibrating abstention").
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from rag.core.settings import get_settings
from rag.evaluation import squad
from rag.evaluation.calibration import choose_threshold, expected_f1
from rag.evaluation.evaluate import index_paragraphs, throwaway_pipeline

SIGNALS = {
    "confidence": ["c1"],
    "confidence, runner-up": ["c1", "c2"],
    "confidence, margin, source score": ["c1", "margin", "source"],
    "all": ["c1", "c2", "margin", "source", "top", "gap", "documents", "passages", "logit"],
}


def collect(file: Path, limit: int, seed: int = 13) -> list[dict]:
    """The calibration mix as ``rag.evaluation.evaluate.calibrate`` draws it, with each
    question's signals."""
    every = squad.load([file])
    articles = sorted({e.article for e in every})
    rng = random.Random(seed)
    held_out = set(rng.sample(articles, max(1, round(len(articles) * 0.33))))
    examples = rng.sample(every, min(limit, len(every)))
    rows = []
    with tempfile.TemporaryDirectory(prefix="rag-abstention-") as tmp:
        pipeline = throwaway_pipeline(get_settings(), None, None, tmp)
        index_paragraphs(pipeline, [e for e in every if e.article not in held_out])
        for ex in examples:
            result = pipeline.ask(ex.question)
            best = result.answers[0] if result.answers else None
            unanswerable = ex.article in held_out or ex.impossible
            f1 = 0.0
            if best is not None and not unanswerable:
                f1 = squad.best_over_truths(squad.f1_score, best.text, ex.answers)
            c = [a.confidence for a in result.answers[:2]] + [0.0, 0.0]
            scores = [p.score for p in result.passages] + [0.0, 0.0]
            rows.append(
                {
                    "article": ex.article,
                    "unanswerable": unanswerable,
                    "f1": f1,
                    "c1": c[0],
                    "c2": c[1],
                    "margin": c[0] - c[1],
                    "source": max((s.score for s in best.sources), default=0.0) if best else 0.0,
                    "top": scores[0],
                    "gap": scores[0] - scores[1],
                    "documents": len({s.doc_id for s in best.sources}) if best else 0,
                    "passages": len(best.sources) if best else 0,
                    "logit": float(np.log(max(c[0], 1e-6) / max(1 - c[0], 1e-6))),
                }
            )
        pipeline.close()
    return rows


def _fit(x: np.ndarray, y: np.ndarray):
    """A logistic model of "answering is right" (L2-regularised, standardised inputs)."""
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    mu, sd = xt.mean(0), xt.std(0) + 1e-6
    lin = torch.nn.Linear(x.shape[1], 1)
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=200)

    def closure():
        opt.zero_grad()
        logits = lin((xt - mu) / sd).squeeze(1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, yt)
        loss = loss + 1e-3 * (lin.weight**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return lambda z: (
            torch.sigmoid(lin((torch.tensor(z, dtype=torch.float32) - mu) / sd)).squeeze(1).tolist()
        )


def _expected(rows: list[dict], scores: list[float], threshold: float) -> float:
    answerable = [(s, r["f1"]) for s, r in zip(scores, rows, strict=True) if not r["unanswerable"]]
    unanswerable = [s for s, r in zip(scores, rows, strict=True) if r["unanswerable"]]
    return expected_f1(answerable, unanswerable, threshold)


def _threshold(rows: list[dict], scores: list[float]) -> float:
    answerable = [(s, r["f1"]) for s, r in zip(scores, rows, strict=True) if not r["unanswerable"]]
    unanswerable = [s for s, r in zip(scores, rows, strict=True) if r["unanswerable"]]
    return choose_threshold(answerable, unanswerable)


def compare(rows: list[dict], splits: int = 10) -> dict[str, tuple[float, float]]:
    """Mean held-out expected F1 per set of signals, and its difference from the
    confidence alone with the standard error of that difference."""
    articles = sorted({r["article"] for r in rows})
    results: dict[str, list[float]] = {name: [] for name in SIGNALS}
    for split in range(splits):
        shuffled = articles[:]
        random.Random(split).shuffle(shuffled)
        half = set(shuffled[: len(shuffled) // 2])
        for fold in (True, False):
            train = [r for r in rows if (r["article"] in half) == fold]
            test = [r for r in rows if (r["article"] in half) != fold]
            label = np.array([float(not r["unanswerable"] and r["f1"] >= 0.5) for r in train])
            for name, keys in SIGNALS.items():
                model = _fit(np.array([[r[k] for k in keys] for r in train]), label)
                threshold = _threshold(train, model([[r[k] for k in keys] for r in train]))
                score = _expected(test, model([[r[k] for k in keys] for r in test]), threshold)
                results[name].append(score)
    base = np.array(results["confidence"])
    return {
        name: (
            round(100 * float(np.mean(v)), 2),
            round(100 * float(np.std(np.array(v) - base) / np.sqrt(len(v))), 2),
        )
        for name, v in results.items()
    }


if __name__ == "__main__":
    rows = collect(Path(sys.argv[1]), int(sys.argv[2]))
    if len(sys.argv) > 3:
        Path(sys.argv[3]).write_text(json.dumps(rows))
    found = compare(rows)
    base = found["confidence"][0]
    for name, (mean, se) in found.items():
        line = {"signals": name, "expected_f1": mean, "vs_confidence": round(mean - base, 2)}
        print(json.dumps({**line, "se": se}))
