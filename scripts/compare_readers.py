"""Compare trained readers on a SQuAD file, reader only (the gold paragraph given).

For each reader: EM/F1 on every question; the share of abstentions, at the reader's own
threshold, on unanswerable pairs made from the file (a changed question; the closest
paragraph of the article without the answer; the passage the service's own retriever
ranks highest without the answer, mined over the file's paragraphs; the gold paragraph
with the answer cut out); and F1 with a
distracting sentence inserted into the paragraph, next to F1 on the same questions
without it.

    python scripts/compare_readers.py squad-v1.1-dev-part-a.json cpu 2000 runs/a/best ...

Prints one JSON line per reader. Used to measure what the no-answer pairs of
``rag train-reader`` add (docs/training.md).
"""

from __future__ import annotations

import json
import random
import sys
import time

from rag import squad
from rag.mining import mine
from rag.negatives import (
    ANSWER_REMOVED,
    CHANGED_QUESTION,
    LEXICAL,
    NegativeMaker,
    Shares,
    make_pairs,
)
from rag.reader import TransformerReader


def main(file: str, device: str, limit: int, models: list[str]) -> None:
    dev = squad.load([file])
    maker = NegativeMaker(dev)
    sample = random.Random(7).sample(dev, min(limit, len(dev)))
    changed = [
        p
        for p in make_pairs(
            sample, Shares(other_paragraph=0, changed_question=1.0), random.Random(8), maker
        )
        if p.kind == CHANGED_QUESTION
    ]
    lexical = [
        p
        for p in make_pairs(sample, Shares(other_paragraph=0, lexical=1.0), random.Random(9), maker)
        if p.kind == LEXICAL
    ]
    removed = [
        p
        for p in make_pairs(
            sample, Shares(other_paragraph=0, answer_removed=1.0), random.Random(11), maker
        )
        if p.kind == ANSWER_REMOVED
    ]
    mined = mine(dev, progress=False)
    retrieved = [(e.question, mined[e.id]) for e in sample if e.id in mined]
    rng = random.Random(10)
    distracted = [(e, p) for e in sample if (p := maker.distractor(e, rng)) is not None]
    for model in models:
        t0 = time.time()
        reader = TransformerReader(model, device=device, batch_size=64)
        t = reader.threshold

        def top_text(pairs, reader=reader):
            out = reader.read_pairs([q for q, _ in pairs], [c for _, c in pairs])
            return [(o[0].text, o[0].confidence) if o else ("", 0.0) for o in out]

        def top(pairs):
            return top_text([(p.question, p.context) for p in pairs])

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
            "changed_question_abstained": round(
                100 * sum(c < t for _, c in top(changed)) / max(len(changed), 1), 1
            ),
            "changed_questions": len(changed),
            "closest_paragraph_abstained": round(
                100 * sum(c < t for _, c in top(lexical)) / max(len(lexical), 1), 1
            ),
            "closest_paragraphs": len(lexical),
            "retrieved_passage_abstained": round(
                100 * sum(c < t for _, c in top_text(retrieved)) / max(len(retrieved), 1), 1
            ),
            "retrieved_passages": len(retrieved),
            "answer_removed_abstained": round(
                100 * sum(c < t for _, c in top(removed)) / max(len(removed), 1), 1
            ),
            "answers_removed": len(removed),
            "distractor_f1": round(squad.score(moved, gold)["f1"], 2),
            "same_questions_clean_f1": round(squad.score(plain, gold)["f1"], 2),
            "distracted": len(gold),
            "seconds": round(time.time() - t0, 1),
        }
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:])
