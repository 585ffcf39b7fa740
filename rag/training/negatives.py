"""Pairs that teach the reader to say "not here", made from answerable SQuAD questions.

A reader trained only on (question, gold paragraph) pairs learns that every passage
holds an answer. Six kinds of pair correct that, each a share of the questions:

* **other paragraph**: the question against another paragraph (of its own article
  or another one): no answer.
* **lexical**: the paragraph of its own article that shares the most rare question
  words but not the answer, the passage a lexical retriever would rank first: no answer.
* **retrieved**: the passage the project's own hybrid retriever ranks highest for the
  question among those without its answer (mined beforehand, :mod:`rag.training.mining`): no
  answer.
* **changed question** (SQuAD 2.0 style): an entity, number or year of the question
  that the paragraph mentions swapped for one it does not mention (or the question
  negated): no answer.
* **distractor** (AddSent, Jia & Liang 2017): a sentence echoing the question about
  other entities, with a fake answer, inserted into the paragraph; the answer stays.
* **answer removed**: the gold paragraph with its answer cut out: no answer.

The last three are edits of the example, made by :class:`rag.evaluation.edits.ExampleEditor`:
``rag perturb`` builds its evaluation sets from the same edits, and evaluation may not
import the training lab, so the edits live there and only the pairing lives here.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from rag.core.text import STOPWORDS, words
from rag.evaluation import squad
from rag.evaluation.edits import ExampleEditor

ANSWER = "answer"
UNANSWERABLE = "unanswerable"  #: a SQuAD 2.0 question marked impossible
OTHER_PARAGRAPH = "other-paragraph"
LEXICAL = "lexical"
RETRIEVED = "retrieved"
CHANGED_QUESTION = "changed-question"
DISTRACTOR = "distractor"
ANSWER_REMOVED = "answer-removed"
KINDS = (
    ANSWER,
    UNANSWERABLE,
    OTHER_PARAGRAPH,
    LEXICAL,
    RETRIEVED,
    CHANGED_QUESTION,
    DISTRACTOR,
    ANSWER_REMOVED,
)


class Pair(NamedTuple):
    """One training or validation pair; no spans means the context does not answer."""

    question: str
    context: str
    spans: list[tuple[int, int]]
    kind: str = ANSWER


@dataclass(frozen=True)
class Shares:
    """Share of the questions that get a pair of each kind (each drawn independently)."""

    other_paragraph: float = 0.3
    lexical: float = 0.0
    retrieved: float = 0.0
    changed_question: float = 0.0
    distractor: float = 0.0
    answer_removed: float = 0.0


class NegativeMaker:
    """Draws the kinds of pair for the questions of a training (or validation) set.

    ``retrieved``: question id → its mined negative passage (:func:`rag.training.mining.mine`)."""

    def __init__(
        self, examples: Sequence[squad.Example], retrieved: Mapping[str, str] | None = None
    ) -> None:
        self.retrieved_passages = retrieved if retrieved is not None else {}
        self.editor = ExampleEditor(examples)
        self.paragraphs = self.editor.paragraphs
        self.articles = sorted(self.paragraphs)
        self._df: dict[str, Counter] = {}
        self._words: dict[str, list[set[str]]] = {}

    # ------------------------------------------------------------------ paragraphs

    def other_paragraph(self, ex: squad.Example, rng: random.Random) -> Pair | None:
        """Half from the same article (same topic, as a retriever returns), half from another."""
        if rng.random() < 0.5 and len(self.paragraphs[ex.article]) > 1:
            pool = self.paragraphs[ex.article]
        else:
            pool = self.paragraphs[rng.choice(self.articles)]
        other = rng.choice(pool)
        if other == ex.context or self.editor.has_answer(other, ex.answers):
            return None
        return Pair(ex.question, other, [], OTHER_PARAGRAPH)

    def _article_index(self, article: str) -> tuple[Counter, list[set[str]]]:
        if article not in self._words:
            bags = [set(words(p)) - STOPWORDS for p in self.paragraphs[article]]
            self._words[article] = bags
            self._df[article] = Counter(w for ws in bags for w in ws)
        return self._df[article], self._words[article]

    def lexical(self, ex: squad.Example, rng: random.Random) -> Pair | None:
        """The paragraph of the article sharing the most rare question words, without the answer."""
        df, bags = self._article_index(ex.article)
        n = len(bags)
        q = set(words(ex.question)) - STOPWORDS
        best, best_score = None, 0.0
        for para, ws in zip(self.paragraphs[ex.article], bags, strict=True):
            if para == ex.context:
                continue
            score = sum(math.log(1 + n / df[w]) for w in q & ws)
            if score > best_score and not self.editor.has_answer(para, ex.answers):
                best, best_score = para, score
        if best is None:
            return None
        return Pair(ex.question, best, [], LEXICAL)

    def retrieved(self, ex: squad.Example, rng: random.Random) -> Pair | None:
        """The passage the service's retriever would have read instead (mined beforehand)."""
        text = self.retrieved_passages.get(ex.id)
        return Pair(ex.question, text, [], RETRIEVED) if text else None

    # ------------------------------------------------------------------ edits of the example

    def changed_question(self, ex: squad.Example, rng: random.Random) -> Pair | None:
        """The paragraph against a question it no longer answers (no answer)."""
        question = self.editor.changed_question(ex, rng)
        return Pair(question, ex.context, [], CHANGED_QUESTION) if question is not None else None

    def distractor(self, ex: squad.Example, rng: random.Random) -> Pair | None:
        """The question against its paragraph with a distracting sentence; the answer stays."""
        moved = self.editor.distracted(ex, rng)
        if moved is None:
            return None
        spans = {(s, s + len(t)) for t, s in zip(moved.answers, moved.answer_starts, strict=True)}
        return Pair(ex.question, moved.context, sorted(spans), DISTRACTOR)

    def answer_removed(self, ex: squad.Example, rng: random.Random) -> Pair | None:
        """The question against its own paragraph with the answer cut out (no answer)."""
        context = self.editor.answer_removed(ex)
        return Pair(ex.question, context, [], ANSWER_REMOVED) if context is not None else None


def make_pairs(
    examples: Sequence[squad.Example],
    shares: Shares,
    rng: random.Random,
    maker: NegativeMaker | None = None,
) -> list[Pair]:
    """Every question with its gold paragraph, plus pairs of each kind for a share of them."""
    maker = maker if maker is not None else NegativeMaker(examples)
    draws = (
        (shares.other_paragraph, maker.other_paragraph),
        (shares.lexical, maker.lexical),
        (shares.retrieved, maker.retrieved),
        (shares.changed_question, maker.changed_question),
        (shares.distractor, maker.distractor),
        (shares.answer_removed, maker.answer_removed),
    )
    pairs = []
    for ex in examples:
        spans = sorted({(s, s + len(a)) for a, s in zip(ex.answers, ex.answer_starts, strict=True)})
        pairs.append(Pair(ex.question, ex.context, spans, ANSWER if spans else UNANSWERABLE))
        for share, draw in draws:
            if share > 0 and rng.random() < share:
                pair = draw(ex, rng)
                if pair is not None:
                    pairs.append(pair)
    return pairs
