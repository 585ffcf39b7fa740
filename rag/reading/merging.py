"""Merging the reader's spans into answers: one answer per distinct text, with its evidence.

The reader scores spans passage by passage; the same answer often comes from several
passages, in slightly different words ("Moscow" / "visit Moscow", "Ri Yong-ho" /
"Ri Yong Ho"). :func:`merge_answers` groups them, combines their evidence and cites
the passages that gave each answer (the strongest :data:`MAX_SOURCES`), with the
answer's offsets in its document.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from rag.core.locations import location_at
from rag.core.text import normalize_answer
from rag.core.types import Answer, Chunk, Citation, Passage
from rag.reading.base import Span
from rag.reading.decoding import PREFER_SHORTER

#: Answers returned, best first, and passages each cites, strongest first. Every citation
#: carries its whole passage (up to 2,000 characters), so these bound an answer's size:
#: with 50 passages read, at most 50 + 10 × 5 citations, some 230 kB of JSON (a 2.1 MB
#: passage cited by every alternative made an /ask body of 8.4 MB, issue 32). The
#: confidence still combines the evidence of every passage.
MAX_ANSWERS = 10
MAX_SOURCES = 5


def citation(passage: Passage, span: tuple[int, int] | None = None) -> Citation:
    """``passage`` as cited; ``span``: the answer's document offsets inside it, if any."""
    chunk = passage.chunk
    return Citation(
        doc_id=chunk.doc_id,
        title=passage.title,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        answer_start=span[0] if span else None,
        answer_end=span[1] if span else None,
        score=passage.score,
        pages=list(chunk.pages) if chunk.pages else None,
        location=location_of(chunk, span[0] if span else chunk.start),
    )


def location_of(chunk: Chunk, offset: int) -> dict | None:
    """Where ``offset`` of the document is in its file: the passage's region that holds
    it; for a PDF passage stored before locations, its page."""
    if chunk.regions:
        return location_at(chunk.regions, offset)
    if chunk.pages:
        return {"page": chunk.pages[0]}
    return None


def answer_key(text: str) -> str:
    """What makes two answers the same: SQuAD normalisation, with hyphens and dashes
    read as spaces so that "Ri Yong-ho" and "Ri Yong Ho" are one answer."""
    return normalize_answer(re.sub(r"[-‐‑–—]", " ", text)) or text.strip().lower()


def same_answer(a: str, b: str) -> bool:
    """Equal keys, or one inside the other word for word ("Moscow" / "visit Moscow")."""
    if a == b:
        return True
    short, long = sorted((a.split(), b.split()), key=len)
    n = len(short)
    return any(long[i : i + n] == short for i in range(len(long) - n + 1))


def narrow(answer: str, text: str, start: int, end: int) -> tuple[int, int]:
    """Offsets of ``answer`` inside a longer merged span ("visit Moscow" cites "Moscow")."""
    at = text.lower().find(answer.lower()) if len(answer) < len(text) else -1
    return (start + at, start + at + len(answer)) if at >= 0 else (start, end)


class Member(NamedTuple):
    """One passage's span in a group, with its offsets in the document."""

    doc_id: str
    start: int
    end: int
    span: Span


@dataclass
class AnswerGroup:
    """Spans that say the same thing; ``text`` is the one shown (the briefest sure one)."""

    key: str
    text: str
    best: float
    members: list[Member] = field(default_factory=list)
    contexts: set[int] = field(default_factory=set)

    def holds(self, key: str, doc_id: str, start: int, end: int) -> bool:
        """The same answer, or overlapping offsets in the same document."""
        return same_answer(self.key, key) or any(
            m.doc_id == doc_id and start < m.end and m.start < end for m in self.members
        )


def merge_answers(
    spans: Iterable[Span], passages: list[Passage], retrieval_weight: float = 0.0
) -> list[Answer]:
    """Group spans that are the same answer: equal normalised text, one text inside
    the other word for word, or overlapping offsets in the same document.

    A span's evidence is its reader confidence times its passage's retrieval score
    to the power ``retrieval_weight``. The reader normalises each passage on its
    own, so it is as sure of a plausible span in an off-topic passage as of the
    answer in the best one; the retrieval score tells them apart. A group's
    confidence combines its evidence as a noisy-OR over documents (the best span of
    each document counts once, so overlapping passages of one article are not
    counted twice): 1 - Π(1 - e_doc).
    """

    def evidence(span: Span) -> float:
        return span.confidence * passages[span.context].score ** retrieval_weight

    groups: list[AnswerGroup] = []
    for span in sorted(spans, key=evidence, reverse=True):
        key = answer_key(span.text)
        if not key:
            continue
        chunk = passages[span.context].chunk
        member = Member(chunk.doc_id, chunk.start + span.start, chunk.start + span.end, span)
        group = next((g for g in groups if g.holds(key, *member[:3])), None)
        if group is None:
            group = AnswerGroup(key, span.text, evidence(span))
            groups.append(group)
        elif (
            len(key.split()) < len(group.key.split())
            and same_answer(group.key, key)
            and evidence(span) >= PREFER_SHORTER * group.best
        ):
            # the same answer said more briefly, and nearly as surely: show the brief one
            group.key, group.text = key, span.text
        if span.context not in group.contexts:
            group.contexts.add(span.context)
            group.members.append(member)
    answers = [_answer(g, passages, evidence) for g in groups]
    answers.sort(key=lambda a: a.confidence, reverse=True)
    return answers[:MAX_ANSWERS]


def _answer(group: AnswerGroup, passages: list[Passage], evidence) -> Answer:
    per_doc: dict[str, float] = {}
    for m in group.members:
        per_doc[m.doc_id] = max(per_doc.get(m.doc_id, 0.0), evidence(m.span))
    confidence = 1.0 - math.prod(1.0 - p for p in per_doc.values())
    sources = [
        citation(passages[m.span.context], narrow(group.text, m.span.text, m.start, m.end))
        for m in group.members[:MAX_SOURCES]  # in order of evidence
    ]
    return Answer(group.text, round(min(max(confidence, 0.0), 1.0), 4), sources)
