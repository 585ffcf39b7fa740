"""A model-free reader: the capitalised phrase or number nearest the question's words.

The fallback for a checkout without trained weights, and the floor a trained reader
must beat."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.core.text import STOPWORDS, WORD
from rag.reading.base import Span

_CANDIDATE = re.compile(
    r"(?:[A-Z][\w'’-]*(?:[ \t]+(?:of|de|the|von|van)?[ \t]*[A-Z][\w'’-]*)*)"
    r"|(?:\d[\d,.:/]*(?:[ \t]+\w+)?)"
)


class LexicalReader:
    """A model-free reader: the capitalised phrase or number closest to the question's words.

    It is a fallback for installs without a span model and a floor for the
    trained reader, not a substitute for it; its confidences are rough.
    """

    threshold = 0.2
    model_name = "lexical"

    def warm_up(self) -> None:
        return None

    def read_pairs(self, questions: Sequence[str], contexts: Sequence[str]) -> list[list[Span]]:
        return [self.read(q, [c]) for q, c in zip(questions, contexts, strict=True)]

    @staticmethod
    def _type_fit(question: str, sentence: str, match: re.Match) -> float:
        """How well a candidate fits the question's wh-word (a place after "in/to", a number)."""
        q = question.lower()
        before = sentence[: match.start()].rstrip().lower()
        is_number = match.group()[0].isdigit()
        if q.startswith(("when", "how many", "how much", "what year")):
            return 0.9 if is_number else 0.3
        if q.startswith("where"):
            return 0.9 if before.endswith((" in", " to", " at", " from")) else 0.4
        return 0.5 if is_number else 0.8

    def read(self, question: str, contexts: Sequence[str]) -> list[Span]:
        q_words = {w.lower() for w in WORD.findall(question)} - STOPWORDS
        if not q_words:
            return []
        spans: list[Span] = []
        for c_idx, context in enumerate(contexts):
            best: Span | None = None
            for sentence in re.finditer(r"[^.!?]+[.!?]?", context):
                s_words = {w.lower() for w in WORD.findall(sentence.group())}
                overlap = len(q_words & s_words) / len(q_words)
                if overlap == 0:
                    continue
                for m in _CANDIDATE.finditer(sentence.group()):
                    words = {w.lower() for w in WORD.findall(m.group())}
                    if not words or words <= q_words | STOPWORDS:
                        continue
                    conf = (
                        overlap
                        * self._type_fit(question, sentence.group(), m)
                        * (0.5 if words & q_words else 1.0)
                    )
                    if best is None or conf > best.confidence:
                        start = sentence.start() + m.start()
                        text = m.group().rstrip(" ,.")
                        best = Span(c_idx, start, start + len(text), text, conf)
            if best is not None:
                spans.append(best)
        return sorted(spans, key=lambda sp: sp.confidence, reverse=True)
