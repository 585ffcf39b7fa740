"""Phrases of questions and paragraphs: years, numbers and names, and a question
turned into a statement. The edits of :mod:`rag.evaluation.edits` swap such phrases to
make a question the paragraph no longer answers, or a distracting sentence (AddSent), for
``rag perturb``'s evaluation sets and the training lab's "not here" pairs alike.
"""

from __future__ import annotations

import re

from rag.core.text import STOPWORDS

_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_NAME = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of|de|the|von|van|and)?\s*[A-Z][\w'’-]*)*")
_NOT_NAMES = frozenset(
    "What Which Who Whom Whose When Where Why How In On At The A An Of For By To From "
    "During After Before Is Was Are Were Did Does Do Has Had Have Can Could Would Will".split()
)
_WH = re.compile(
    r"^\s*(?:in|on|at|by|from|during|to)?\s*(?:what|which|whose)\s+(?:year|time|day|month|"
    r"date|century|decade|period)\b|^\s*(?:how\s+(?:many|much|long|old|far|large|big|often)"
    r"|who|whom|whose|what|which|when|where|why|how)\b",
    re.IGNORECASE,
)
_AUX = re.compile(r"^\s*(?:did|does|do)\s+", re.IGNORECASE)
_MOVABLE_AUX = re.compile(
    r"^\s*(is|was|are|were|has|had|have|can|could|will|would)\s+", re.IGNORECASE
)
_NEGATABLE = re.compile(
    r"\b(is|was|are|were|did|does|do|can|could|has|had|have|will|would)\b", re.IGNORECASE
)


def phrase_kind(text: str) -> str:
    """Coarse kind of an answer or question phrase: year, number, name or other."""
    t = text.strip()
    if _YEAR.fullmatch(t):
        return "year"
    if _NUMBER.fullmatch(t) or (t[:1].isdigit() and len(t.split()) <= 3):
        return "number"
    if t[:1].isupper():
        return "name"
    return "other"


def phrases(text: str) -> list[tuple[int, int, str]]:
    """Years, numbers and capitalised names of a text, as (start, end, kind)."""
    found: list[tuple[int, int, str]] = []
    taken: set[int] = set()
    for pattern, kind in ((_YEAR, "year"), (_NUMBER, "number"), (_NAME, "name")):
        for m in pattern.finditer(text):
            if any(i in taken for i in range(m.start(), m.end())):
                continue
            value = m.group()
            if kind == "name":
                words = value.split()
                while words and words[0] in _NOT_NAMES:
                    words = words[1:]
                if not words:
                    continue
                start = (
                    m.end() - len(" ".join(words)) if len(words) < len(value.split()) else m.start()
                )
                value = text[start : m.end()]
                sentence_start = start == 0 or text[:start].rstrip()[-1:] in '.!?"“'
                if value.lower() in STOPWORDS or (sentence_start and " " not in value):
                    continue  # a lone capital that opens a sentence is usually just a word
                found.append((start, m.end(), kind))
            else:
                found.append((m.start(), m.end(), kind))
            taken.update(range(m.start(), m.end()))
    return sorted(found)


def negate(question: str) -> str | None:
    """The question with "not" after its first auxiliary verb; None when there is none
    or it is negated already."""
    m = _NEGATABLE.search(question)
    if m is None or " not " in f" {question.lower()} ":
        return None
    return question[: m.end()] + " not" + question[m.end() :]


def statement(question: str, answer: str) -> str | None:
    """The question (no question mark) as a statement whose answer is ``answer``:
    "Who regulated the Rhine" + "Tulla" → "Tulla regulated the Rhine."; None when its
    wh-word is not recognised."""
    wh = _WH.match(question)
    if wh is None:
        return None
    body = _AUX.sub("", question[wh.end() :]).strip()
    word = wh.group().strip().lower()
    subject_question = word.startswith(("who", "what", "which", "whose", "how many", "how much"))
    aux = None if subject_question else _MOVABLE_AUX.match(body)
    if aux:
        # "was the Rhine regulated" -> "the Rhine was regulated": the verb goes after
        # the first name of the subject, when there is one near the start.
        body = body[aux.end() :]
        names = [(a, b) for a, b, _ in phrases(body) if a < 40]
        cut = names[0][1] if names else 0
        verb = aux.group(1).lower()
        body = f"{body[:cut]} {verb} {body[cut:]}" if cut else body
    body = " ".join(body.split())
    if not body:
        return None
    sentence = f"{answer} {body}." if subject_question else f"{body} in {answer}."
    return sentence[0].upper() + sentence[1:]
