"""``rag perturb``: SQuAD 2.0 evaluation sets made from answerable questions, to measure
abstention and robustness with ``rag eval``.

The copies are made with the edits the training lab learns from
(:mod:`rag.evaluation.edits`); they live here, beside the scorer, so that evaluation data
never depends on the training lab (training may import evaluation, not the reverse).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from rag.evaluation import squad
from rag.evaluation.edits import ExampleEditor


def perturbed_examples(
    examples: Sequence[squad.Example],
    changed_questions: float,
    distractors: float,
    seed: int = 13,
) -> list[squad.Example]:
    """Evaluation copies of answerable questions: SQuAD 2.0-style unanswerable ones (the
    question changed, the paragraph kept) and AddSent-style ones (the question kept, a
    distracting sentence in the paragraph, the same answers at their new offsets)."""
    rng = random.Random(seed)
    editor = ExampleEditor(examples)
    out: list[squad.Example] = []
    for ex in examples:
        if not ex.answers:
            continue
        if changed_questions > 0 and rng.random() < changed_questions:
            question = editor.changed_question(ex, rng)
            if question is not None:
                out.append(
                    replace(
                        ex,
                        id=f"{ex.id}-changed",
                        question=question,
                        answers=(),
                        answer_starts=(),
                        impossible=True,
                    )
                )
        if distractors > 0 and rng.random() < distractors:
            moved = editor.distracted(ex, rng)
            if moved is not None:
                out.append(replace(moved, id=f"{ex.id}-distractor", paragraph=-1 - ex.paragraph))
    return out
