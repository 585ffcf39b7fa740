"""Compare trained readers on a SQuAD file, reader only (the gold paragraph given).

For each reader: EM/F1 on every question; the share of abstentions, at the reader's own
threshold, on unanswerable pairs made from the file (a changed question; the closest
paragraph of the article without the answer; the passage the service's own retriever
ranks highest without the answer, mined over the file's paragraphs; the gold paragraph
with the answer cut out); and F1 with a distracting sentence inserted into the
paragraph, next to F1 on the same questions without it.

    python scripts/compare_readers.py squad-v1.1-dev-part-a.json cpu 2000 runs/a/best ...

Prints one JSON line per reader. Used to measure what the no-answer pairs of
``rag train-reader`` add (docs/training.md).
"""

from __future__ import annotations

import json
import random
import sys
import time

from rag.evaluation import squad
from rag.reading.transformer import TransformerReader
from rag.training.mining import mine
from rag.training.negatives import (
    ANSWER_REMOVED,
    CHANGED_QUESTION,
    LEXICAL,
    RETRIEVED,
    NegativeMaker,
    Shares,
    make_pairs,
)

#: Unanswerable pairs scored: the name in the report → the kind and the seed of its draw.
UNANSWERABLE_SETS = {
    "changed_question": (CHANGED_QUESTION, Shares(other_paragraph=0, changed_question=1.0), 8),
    "closest_paragraph": (LEXICAL, Shares(other_paragraph=0, lexical=1.0), 9),
    "retrieved_passage": (RETRIEVED, Shares(other_paragraph=0, retrieved=1.0), 12),
    "answer_removed": (ANSWER_REMOVED, Shares(other_paragraph=0, answer_removed=1.0), 11),
}


def main(file: str, device: str, limit: int, models: list[str]) -> None:
    dev = squad.load([file])
    maker = NegativeMaker(dev, mine(dev, progress=False))
    sample = random.Random(7).sample(dev, min(limit, len(dev)))
    unanswerable = {
        name: [p for p in make_pairs(sample, shares, random.Random(seed), maker) if p.kind == kind]
        for name, (kind, shares, seed) in UNANSWERABLE_SETS.items()
    }
    rng = random.Random(10)
    distracted = [(e, p) for e in sample if (p := maker.distractor(e, rng)) is not None]
    for model in models:
        t0 = time.time()
        reader = TransformerReader(model, device=device, batch_size=64)
        t = reader.threshold

        def top(pairs, reader=reader):
            out = reader.read_pairs([p.question for p in pairs], [p.context for p in pairs])
            return [(o[0].text, o[0].confidence) if o else ("", 0.0) for o in out]

        read = top(dev)
        full = squad.score({e.id: text for e, (text, _) in zip(dev, read, strict=True)}, dev)
        plain = {e.id: text for e, (text, _) in zip(dev, read, strict=True)}
        with_distractor = top([p for _, p in distracted])
        gold = [e for e, _ in distracted]
        moved = {e.id: text for e, (text, _) in zip(gold, with_distractor, strict=True)}
        record = {
            "model": model,
            "threshold": t,
            "em": round(full["exact_match"], 2),
            "f1": round(full["f1"], 2),
            "answered": round(100 * sum(c >= t for _, c in read) / len(read), 1),
        }
        for name, pairs in unanswerable.items():
            abstained = sum(c < t for _, c in top(pairs))
            record[f"{name}_abstained"] = round(100 * abstained / max(len(pairs), 1), 1)
            record[f"{name}_pairs"] = len(pairs)
        record |= {
            "distractor_f1": round(squad.score(moved, gold)["f1"], 2),
            "same_questions_clean_f1": round(squad.score(plain, gold)["f1"], 2),
            "distracted": len(gold),
            "seconds": round(time.time() - t0, 1),
        }
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:])
