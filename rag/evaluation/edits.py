"""Edits of a SQuAD example that change what its paragraph says about its question.

* **changed question** (SQuAD 2.0 style): an entity, number or year of the question that
  the paragraph mentions is swapped for another of the same kind that it does not
  mention (or the question is negated), so that the paragraph no longer answers it.
* **distracting sentence** (AddSent, Jia & Liang 2017): a sentence that echoes the
  question with its key entities changed and a fake answer of the gold answer's kind,
  inserted into the paragraph; the answer stays the original span.
* **answer removed**: the paragraph with its answer cut out, so that it still describes
  what the question asks about but no longer says it ("Russia's foreign minister, Sergei
  Lavrov, met Kim" → "Russia's foreign minister met Kim"): the commas or brackets that
  set the answer off go with it; where the answer is not set off, the sentences holding
  it go, if the rest still shares words with the question.

They live in evaluation, not in the training lab, because both use them: ``rag perturb``
writes evaluation sets of them (:mod:`rag.evaluation.perturb`) and training draws its
"not here" pairs from them (:mod:`rag.training.negatives`). Training may import
evaluation; evaluation never imports training.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Sequence
from dataclasses import replace

from rag.core.text import STOPWORDS, sentence_spans, words
from rag.evaluation import squad
from rag.evaluation.phrases import negate, phrase_kind, phrases, statement

#: Question words the rest of a paragraph must share once its answer sentences are cut.
MIN_SHARED_WORDS = 2


def paragraphs_by_article(examples: Sequence[squad.Example]) -> dict[str, list[str]]:
    """Each article's paragraphs, in file order (its questions come paragraph by paragraph)."""
    paragraphs: dict[str, list[str]] = {}
    for ex in examples:
        paras = paragraphs.setdefault(ex.article, [])
        if not paras or paras[-1] != ex.context:
            paras.append(ex.context)
    return paragraphs


class ExampleEditor:
    """Edits the questions and paragraphs of one set of examples: the names, numbers and
    years a changed question or a distracting sentence swaps in, and the fake answers,
    come from the same set (from the question's own article first: the same topic)."""

    def __init__(self, examples: Sequence[squad.Example]) -> None:
        self.paragraphs = paragraphs_by_article(examples)
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
        self._norm: dict[str, str] = {}

    def _normalized(self, context: str) -> str:
        """Normalised paragraph, padded with spaces; paragraphs recur, so it is cached."""
        norm = self._norm.get(context)
        if norm is None:
            norm = self._norm[context] = f" {squad.normalize_answer(context)} "
        return norm

    def mentions(self, context: str, phrase: str) -> bool:
        """Whether ``context`` holds ``phrase`` as whole words (normalised as SQuAD scores)."""
        return f" {squad.normalize_answer(phrase)} " in self._normalized(context)

    def has_answer(self, context: str, answers: Sequence[str]) -> bool:
        norm = self._normalized(context)
        return any(squad.normalize_answer(a) in norm for a in answers if a)

    def _replacement(
        self, ex: squad.Example, original: str, kind: str, rng: random.Random, avoid: str
    ) -> str | None:
        """Another phrase of the same kind that ``avoid`` (the paragraph) never mentions."""
        if kind in ("year", "number"):
            return self._other_number(original, kind, rng, avoid)
        own = self.article_phrases.get(ex.article, {}).get(kind, [])
        anywhere = self.all_phrases.get(kind, [])
        for attempt in range(10):
            pool = own if attempt < 6 else anywhere
            if not pool:
                continue
            new = rng.choice(pool)
            if (
                new.lower() != original.lower()
                and not self.mentions(avoid, new)
                and (original.lower() not in new.lower())
            ):
                return new
        return None

    def _other_number(self, original: str, kind: str, rng: random.Random, avoid: str) -> str | None:
        digits = original.replace(",", "")
        try:
            value = float(digits)
        except ValueError:
            return None
        for _ in range(5):
            if kind == "year":
                new = str(int(value) + rng.choice([-1, 1]) * rng.randint(2, 40))
            else:
                factor = rng.choice([0.5, 2, 3, 1.5, 10])
                new = str(int(value * factor)) if value * factor >= 1 else "2"
            if new != digits and not self.mentions(avoid, new):
                return new
        return None

    def changed_question(self, ex: squad.Example, rng: random.Random) -> str | None:
        """The question with a phrase that ties it to the paragraph swapped for one the
        paragraph lacks; negated when nothing can be swapped (now and then)."""
        candidates = [
            (a, b, kind)
            for a, b, kind in phrases(ex.question)
            if self.mentions(ex.context, ex.question[a:b])
        ]
        rng.shuffle(candidates)
        for a, b, kind in candidates:
            new = self._replacement(ex, ex.question[a:b], kind, rng, ex.context)
            if new is not None:
                return ex.question[:a] + new + ex.question[b:]
        negated = negate(ex.question)
        if negated is not None and rng.random() < 0.3:
            return negated
        return None

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
        fakes = self.fake_answers.get(phrase_kind(ex.answers[0])) or []
        gold = {squad.normalize_answer(a) for a in ex.answers}
        for _ in range(8):
            if not fakes:
                break
            fake = rng.choice(fakes)
            if squad.normalize_answer(fake) not in gold and not self.mentions(ex.context, fake):
                return statement(swapped, fake)
        return None

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

    def answer_removed(self, ex: squad.Example) -> str | None:
        """The question's own paragraph with its answer cut out; None where no cut leaves
        a paragraph without the answer that is still about the question."""
        if not ex.answers:
            return None
        context = without_set_off(ex.context, ex.answers[0])
        if context is None or self.has_answer(context, ex.answers):
            context = without_sentences(ex.context, ex.answers, ex.answer_starts)
            if context is None or self.has_answer(context, ex.answers):
                return None
            asked = {w for w in words(ex.question) if w not in STOPWORDS}
            if len(asked & set(words(context))) < MIN_SHARED_WORDS:
                return None
        return context


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
