"""Choosing the confidence below which the service abstains, and storing it with the reader.

One rule for every caller (the end of a training run, ``rag eval --calibrate``): the
threshold maximises right answers plus right abstentions over a mix of answerable and
unanswerable questions, as SQuAD 2.0's "best F1 threshold" does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rag.reading.base import READER_CONFIG


def expected_f1(
    answerable: Sequence[tuple[float, float]], unanswerable: Sequence[float], threshold: float
) -> float:
    """Mean score at ``threshold``: an answered question scores its F1, an abstention on an
    unanswerable question 1, anything else 0."""
    total = sum(f for c, f in answerable if c >= threshold)
    total += sum(1 for c in unanswerable if c < threshold)
    return total / max(len(answerable) + len(unanswerable), 1)


def choose_threshold(
    answerable: Sequence[tuple[float, float]], unanswerable: Sequence[float]
) -> float:
    """Threshold maximising expected F1 over a mix of answerable and unanswerable questions.

    ``answerable`` holds (confidence, F1 of the answer); an unanswerable question
    scores 1 when the reader abstains.
    """
    candidates = sorted({0.0, *[c for c, _ in answerable], *unanswerable})
    best_t, best = 0.0, -1.0
    for t in candidates:
        value = expected_f1(answerable, unanswerable, t)
        if value > best:
            best_t, best = t, value
    return float(best_t)


def write_threshold(model_dir: Path, threshold: float, chosen_on: str, **settings) -> None:
    """Record the threshold, how it was chosen, and any reading ``settings`` (window size)
    in the reader's ``reader_config.json``, keeping what else it holds."""
    path = Path(model_dir) / READER_CONFIG
    config = json.loads(path.read_text()) if path.exists() else {}
    config.update(settings)
    config["threshold"] = round(threshold, 4)
    config["threshold_chosen_on"] = chosen_on
    path.write_text(json.dumps(config, indent=2))
