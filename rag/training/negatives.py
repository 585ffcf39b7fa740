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
  that the paragraph mentions is swapped for another of the same kind that it does
  not mention (or the question is negated), so that the paragraph no longer answers
  it: no answer.
* **distractor** (AddSent, Jia & Liang 2017): a sentence that echoes the question with
  its key entities changed and a fake answer of the gold answer's kind is inserted
  into the paragraph; the answer stays the original span.
* **answer removed**: the gold paragraph with its answer cut out, so that it still
  describes what the question asks about but no longer says it ("Russia's foreign
  minister, Sergei Lavrov, met Kim" → "Russia's foreign minister met Kim"): the
  commas or brackets that set the answer off go with it; where the answer is not set
  off, the sentences holding it go, if the rest still shares words with the question:
  no answer.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from rag.core.text import STOPWORDS, sentence_spans, words
from rag.evaluation import squad
from rag.training.phrases import negate, phrase_kind, phrases, statement

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
#: Question words the rest of a paragraph must share once its answer sentences are cut.
MIN_SHARED_WORDS = 2


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
        self.paragraphs: dict[str, list[str]] = {}
        for ex in examples:
            paras = self.paragraphs.setdefault(ex.article, [])
            if not paras or paras[-1] != ex.context:
                paras.append(ex.context)
        self.articles = sorted(self.paragraphs)
        # Phrases by article and kind: a swapped name should come from the same topic.
        self.article_phrases: dict[str, dict[str, list[str]]] = {}
        for article, paras in self.paragraphs.items():
            pools: dict[str, set[str]] = {}
            for para in paras:
                for a, b, kind in phrases(para):
                    pools.setdefault(kind, set()).add(para[a:b])
            self.article_phrases[article] = {k: sorted(v) for k, v in pools.items()}
        # ... and from any article when its own article has none left to offer
        self.all_phrases = {
            kind: sorted(
                {p for pools in self.article_phrases.values() for p in pools.get(kind, [])}
            )
            for kind in ("name", "number", "year")
        }
        # Fake answers for distractors: gold answers of other questions, by kind.
        answers: dict[str, set[str]] = {}
        for ex in examples:
            if ex.answers:
                answers.setdefault(phrase_kind(ex.answers[0]), set()).add(ex.answers[0])
        self.fake_answers = {k: sorted(v) for k, v in answers.items()}
        self._df: dict[str, Counter] = {}
        self._words: dict[str, list[set[str]]] = {}
        self._norm: dict[str, str] = {}

    def _normalized(self, context: str) -> str:
        """Normalised paragraph, padded with spaces; paragraphs recur, so it is cached."""
        norm = self._norm.get(context)
        if norm is None:
            norm = self._norm[context] = f" {squad.normalize_answer(context)} "
        return norm

    def _mentions(self, context: str, phrase: str) -> bool:
        return f" {squad.normalize_answer(phrase)} " in self._normalized(context)

    def _has_answer(self, context: str, answers: Sequence[str]) -> bool:
        norm = self._normalized(context)
        return any(squad.normalize_answer(a) in norm for a in answers if a)

    # ------------------------------------------------------------------ paragraphs

    def other_paragraph(self, ex: squad.Example, rng: random.Random) -> Pair | None:
        """Half from the same article (same topic, as a retriever returns), half from another."""
        if rng.random() < 0.5 and len(self.paragraphs[ex.article]) > 1:
            pool = self.paragraphs[ex.article]
        else:
            pool = self.paragraphs[rng.choice(self.articles)]
        other = rng.choice(pool)
        if other == ex.context or self._has_answer(other, ex.answers):
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
            if score > best_score and not self._has_answer(para, ex.answers):
                best, best_score = para, score
        if best is None:
            return None
        return Pair(ex.question, best, [], LEXICAL)

    def retrieved(self, ex: squad.Example, rng: random.Random) -> Pair | None:
        """The passage the service's retriever would have read instead (mined beforehand)."""
        text = self.retrieved_passages.get(ex.id)
        return Pair(ex.question, text, [], RETRIEVED) if text else None

    # ------------------------------------------------------------------ questions

    def _replacement(
        self, ex: squad.Example, original: str, kind: str, rng: random.Random, avoid: str
    ) -> str | None:
        """Another phrase of the same kind that ``avoid`` (the paragraph) never mentions."""
        if kind in ("year", "number"):
            digits = original.replace(",", "")
            try:
                value = float(digits)
            except ValueError:
                value = None
            if value is not None:
                for _ in range(5):
                    if kind == "year":
                        new = str(int(value) + rng.choice([-1, 1]) * rng.randint(2, 40))
                    else:
                        factor = rng.choice([0.5, 2, 3, 1.5, 10])
                        new = str(int(value * factor)) if value * factor >= 1 else "2"
                    if new != digits and not self._mentions(avoid, new):
                        return new
            return None
        own = self.article_phrases.get(ex.article, {}).get(kind, [])
        anywhere = self.all_phrases.get(kind, [])
        for attempt in range(10):
            pool = own if attempt < 6 else anywhere
            if not pool:
                continue
            new = rng.choice(pool)
            if (
                new.lower() != original.lower()
                and not self._mentions(avoid, new)
                and (original.lower() not in new.lower())
            ):
                return new
        return None

    def changed_question(self, ex: squad.Example, rng: random.Random) -> Pair | None:
        """Swap a phrase that ties the question to the paragraph for one the paragraph lacks;
        negate the question when nothing can be swapped."""
        candidates = [
            (a, b, kind)
            for a, b, kind in phrases(ex.question)
            if self._mentions(ex.context, ex.question[a:b])
        ]
        rng.shuffle(candidates)
        for a, b, kind in candidates:
            new = self._replacement(ex, ex.question[a:b], kind, rng, ex.context)
            if new is not None:
                question = ex.question[:a] + new + ex.question[b:]
                return Pair(question, ex.context, [], CHANGED_QUESTION)
        negated = negate(ex.question)
        if negated is not None and rng.random() < 0.3:
            return Pair(negated, ex.context, [], CHANGED_QUESTION)
        return None

    # ------------------------------------------------------------------ distractors

    def distractor_sentence(self, ex: squad.Example, rng: random.Random) -> str | None:
        """The question turned into a statement about other entities, with a fake answer."""
        if not ex.answers:
            return None
        question = ex.question.strip().rstrip("?").strip()
        swapped, changed = question, 0
        for a, b, kind in reversed(phrases(question)):
            new = self._replacement(ex, question[a:b], kind, rng, ex.context)
            if new is not None:
                swapped = swapped[:a] + new + swapped[b:]
                changed += 1
        if not changed:
            return None
        answer_kind = phrase_kind(ex.answers[0])
        fakes = self.fake_answers.get(answer_kind) or []
        gold = {squad.normalize_answer(a) for a in ex.answers}
        fake = None
        for _ in range(8):
            if not fakes:
                break
            candidate = rng.choice(fakes)
            if squad.normalize_answer(candidate) not in gold and not self._mentions(
                ex.context, candidate
            ):
                fake = candidate
                break
        if fake is None:
            return None
        return statement(swapped, fake)

    def distracted(self, ex: squad.Example, rng: random.Random) -> squad.Example | None:
        """The example with a distracting sentence inserted into its paragraph at a sentence
        boundary, and its answers at their new offsets."""
        sentence = self.distractor_sentence(ex, rng)
        if sentence is None:
            return None
        at = rng.choice(sentence_bounds(ex.context))
        insert = " " + sentence if at == len(ex.context) else sentence + " "
        context = ex.context[:at] + insert + ex.context[at:]
        answers = []
        for text, start in zip(ex.answers, ex.answer_starts, strict=True):
            start = start + len(insert) if start >= at else start
            if context[start : start + len(text)] == text:
                answers.append((text, start))
        if not answers:
            return None
        return replace(
            ex,
            context=context,
            answers=tuple(t for t, _ in answers),
            answer_starts=tuple(s for _, s in answers),
        )

    def distractor(self, ex: squad.Example, rng: random.Random) -> Pair | None:
        """A training pair: the question against its distracted paragraph; the answer stays."""
        moved = self.distracted(ex, rng)
        if moved is None:
            return None
        spans = {(s, s + len(t)) for t, s in zip(moved.answers, moved.answer_starts, strict=True)}
        return Pair(ex.question, moved.context, sorted(spans), DISTRACTOR)

    # ------------------------------------------------------------------ answer removed

    def answer_removed(self, ex: squad.Example, rng: random.Random) -> Pair | None:
        """The question against its own paragraph with the answer cut out (no answer)."""
        if not ex.answers:
            return None
        context = without_set_off(ex.context, ex.answers[0])
        if context is None or self._has_answer(context, ex.answers):
            context = without_sentences(ex.context, ex.answers, ex.answer_starts)
            if context is None or self._has_answer(context, ex.answers):
                return None
            asked = {w for w in words(ex.question) if w not in STOPWORDS}
            if len(asked & set(words(context))) < MIN_SHARED_WORDS:
                return None
        return Pair(ex.question, context, [], ANSWER_REMOVED)


def sentence_bounds(text: str) -> list[int]:
    """Offsets where sentences of ``text`` start, and its start and end."""
    return sorted({0, len(text), *(start for start, _ in sentence_spans(text))})


def _set_off(context: str, start: int, end: int) -> tuple[int, int] | None:
    """The cut that takes the answer at [start, end) with the commas or brackets setting
    it off (", X," or ", X." or " (X)"), or None where cutting would leave a gap."""
    before, after = context[max(0, start - 2) : start], context[end : end + 1]
    if before == ", " and after == ",":
        return start - 2, end + 1
    if before == ", " and after in (".", ";", ""):
        return start - 2, end
    if before == " (" and after == ")":
        return start - 2, end + 1
    return None


def without_set_off(context: str, answer: str) -> str | None:
    """``context`` with every occurrence of ``answer`` cut with what sets it off; None when
    an occurrence is not set off (cutting it would leave a sentence with a gap)."""
    starts = [m.start() for m in re.finditer(re.escape(answer), context)] if answer else []
    cuts = [_set_off(context, s, s + len(answer)) for s in starts]
    if not cuts or any(c is None for c in cuts):
        return None
    for a, b in sorted((c for c in cuts if c is not None), reverse=True):
        context = context[:a] + context[b:]
    return context


def without_sentences(context: str, answers: Sequence[str], starts: Sequence[int]) -> str | None:
    """``context`` without the sentences that hold a gold answer span; None when no
    sentence would be left or none would go."""
    sentences = list(itertools.pairwise(sentence_bounds(context)))
    spans = [(s, s + len(a)) for a, s in zip(answers, starts, strict=True)]
    kept = [(a, b) for a, b in sentences if not any(s < b and e > a for s, e in spans)]
    if not kept or len(kept) == len(sentences):
        return None
    return "".join(context[a:b] for a, b in kept).strip()


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
    maker = NegativeMaker(examples)
    out: list[squad.Example] = []
    for ex in examples:
        if not ex.answers:
            continue
        if changed_questions > 0 and rng.random() < changed_questions:
            pair = maker.changed_question(ex, rng)
            if pair is not None:
                out.append(
                    replace(
                        ex,
                        id=f"{ex.id}-changed",
                        question=pair.question,
                        answers=(),
                        answer_starts=(),
                        impossible=True,
                    )
                )
        if distractors > 0 and rng.random() < distractors:
            moved = maker.distracted(ex, rng)
            if moved is not None:
                out.append(replace(moved, id=f"{ex.id}-distractor", paragraph=-1 - ex.paragraph))
    return out
