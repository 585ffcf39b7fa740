"""SQuAD files (v1.1, and v2.0 with unanswerable questions): loading, splitting by
article, and the official scoring.

The normalisation and the token F1 follow the official evaluation scripts, so the
figures this project prints can be compared with published ones. In v2.0 a question
marked ``is_impossible`` has no answer; abstaining on it is the right answer, and
answering it is wrong (:func:`score_v2`).
"""

from __future__ import annotations

import collections
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.core.errors import SquadError
from rag.core.text import normalize_answer


@dataclass(frozen=True)
class Example:
    """One question with its gold paragraph and every gold answer."""

    id: str
    question: str
    context: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]
    article: str
    paragraph: int
    impossible: bool = False  #: SQuAD 2.0: the paragraph does not answer the question


class SquadFormatError(SquadError):
    """The file is not SQuAD v1.1 JSON."""


def load(paths: Iterable[str | Path]) -> list[Example]:
    examples: list[Example] = []
    for path in paths:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            examples += _examples(path.name, data["data"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # A missing key deep inside the file is as unusable as bad JSON: one message.
            raise SquadFormatError(f"{path}: not a SQuAD JSON file ({exc!r})") from exc
    return examples


def _examples(file_name: str, articles: list[dict]) -> list[Example]:
    examples = []
    for a_idx, article in enumerate(articles):
        title = f"{file_name}:{article.get('title', a_idx)}"
        for p_idx, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                impossible = bool(qa.get("is_impossible", False))
                answers = [] if impossible else qa.get("answers") or []
                examples.append(
                    Example(
                        id=str(qa["id"]),
                        question=qa["question"],
                        context=para["context"],
                        answers=tuple(a["text"] for a in answers),
                        answer_starts=tuple(int(a["answer_start"]) for a in answers),
                        article=title,
                        paragraph=p_idx,
                        impossible=impossible,
                    )
                )
    return examples


def split_by_article(
    examples: Sequence[Example], val_articles: int, seed: int
) -> tuple[list[Example], list[Example]]:
    """Hold out whole articles, so that no paragraph is on both sides."""
    titles = sorted({e.article for e in examples})
    rng = random.Random(seed)
    held = set(rng.sample(titles, min(val_articles, len(titles))))
    train = [e for e in examples if e.article not in held]
    val = [e for e in examples if e.article in held]
    return train, val


def exclude_articles_of(examples: Sequence[Example], held_out: Sequence[Example]) -> list[Example]:
    """Drop every article that shares a paragraph or a question with ``held_out``.

    Whole articles go, not just the shared paragraphs, so that a validation file
    written by an earlier run (or by hand) keeps the split by article.
    """
    contexts = {e.context for e in held_out}
    ids = {e.id for e in held_out}
    touched = {e.article for e in examples if e.context in contexts or e.id in ids}
    return [e for e in examples if e.article not in touched]


def dump(examples: Sequence[Example], path: Path) -> None:
    """Write examples back as SQuAD JSON (v2.0 when some are unanswerable)."""
    articles: dict[str, dict[str, dict]] = {}
    for ex in examples:
        paragraphs = articles.setdefault(ex.article, {})
        para = paragraphs.setdefault(ex.context, {"context": ex.context, "qas": []})
        qa = {
            "id": ex.id,
            "question": ex.question,
            "answers": [
                {"text": t, "answer_start": s}
                for t, s in zip(ex.answers, ex.answer_starts, strict=True)
            ],
        }
        if ex.impossible:
            qa["is_impossible"] = True
        para["qas"].append(qa)
    data = [
        {"title": title, "paragraphs": list(paras.values())} for title, paras in articles.items()
    ]
    version = "v2.0" if any(ex.impossible for ex in examples) else "1.1"
    Path(path).write_text(json.dumps({"version": version, "data": data}), encoding="utf-8")


def f1_score(prediction: str, truth: str) -> float:
    pred = normalize_answer(prediction).split()
    gold = normalize_answer(truth).split()
    common = collections.Counter(pred) & collections.Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred)
    recall = same / len(gold)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, truth: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(truth))


def best_over_truths(metric, prediction: str, truths: Sequence[str]) -> float:
    return max((metric(prediction, t) for t in truths), default=0.0)


def score(predictions: dict[str, str], examples: Sequence[Example]) -> dict[str, float]:
    """Exact match and F1 on a 0-100 scale, max over gold answers, as the official script."""
    em = f1 = 0.0
    for ex in examples:
        pred = predictions.get(ex.id, "")
        em += best_over_truths(exact_match, pred, ex.answers)
        f1 += best_over_truths(f1_score, pred, ex.answers)
    n = max(len(examples), 1)
    return {"exact_match": 100.0 * em / n, "f1": 100.0 * f1 / n}


def score_v2(predictions: dict[str, str], examples: Sequence[Example]) -> dict[str, float]:
    """The official SQuAD 2.0 metric: an abstention is the empty answer, which is right
    (EM and F1 of 1) exactly where the question has no answer.

    Returns overall EM/F1 and the HasAns/NoAns parts (0-100), with their sizes.
    """
    rows = {"all": [], "has_answer": [], "no_answer": []}
    for ex in examples:
        pred = predictions.get(ex.id, "")
        truths = list(ex.answers) if ex.answers else [""]
        em = best_over_truths(exact_match, pred, truths)
        f1 = (
            best_over_truths(f1_score, pred, truths)
            if ex.answers
            else float(normalize_answer(pred) == "")
        )
        rows["all"].append((em, f1))
        rows["no_answer" if not ex.answers else "has_answer"].append((em, f1))
    out: dict[str, float] = {}
    for part, values in rows.items():
        n = len(values)
        if part != "all" and not n:
            continue  # a v1.1 file has no unanswerable part to report
        prefix = "" if part == "all" else f"{part}_"
        out[f"{prefix}exact_match"] = 100.0 * sum(v[0] for v in values) / max(n, 1)
        out[f"{prefix}f1"] = 100.0 * sum(v[1] for v in values) / max(n, 1)
        out[f"{prefix}questions"] = n
    return out
