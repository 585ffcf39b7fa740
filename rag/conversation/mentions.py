"""What a conversation has talked about: the people, places, times and things that a
follow-up's "he", "there", "then" or "it" may point back to.

Mentions come from two places in each earlier turn: the answer the service gave (typed
by the question that asked for it: "Who …?" gives a person, "Where …?" a place) and
the question itself: its capitalised names (typed by the words around them: "to Moscow"
is a place, "the Apollo program" a thing) and its noun phrases ("the summit").

No model: rules over the words of the history. They are cheap, predictable, and their
mistakes are visible (the page shows what a follow-up was understood as).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from rag.conversation.words import (
    AUXILIARIES,
    FUNCTION_WORDS,
    MONTHS,
    NAME_JOINERS,
    PARTICIPLES,
    PLACE_PREPOSITIONS,
    PLACE_WORDS,
    ROLE_WORDS,
    THING_WORDS,
    TIME_WORDS,
    YEAR,
    bare,
    is_capitalised,
    tokens,
)


class Kind(StrEnum):
    """What a mention can stand for: which pronouns and phrases may point at it."""

    PERSON = "person"  # the answer to "who": he, him, she, her, they
    NAME = "name"  # a capitalised name of unknown kind: a person, a country, a group
    PLACE = "place"  # there, that city
    TIME = "time"  # then, that year
    THING = "thing"  # it, its
    NUMBER = "number"


@dataclass(frozen=True)
class Mention:
    """A phrase of an earlier turn that a follow-up may refer to."""

    text: str
    kind: Kind
    turns_back: int  # 0: the last turn
    from_answer: bool
    plural: bool = False


def is_plural(text: str) -> bool:
    """ "the Merkits", "his followers", "Hasar and Temüge": more than one."""
    words = tokens(text)
    if not words:
        return False
    last = words[-1]
    if " and " in f" {text} " or (last.islower() and last.endswith("s") and len(last) > 3):
        return not last.endswith("ss")
    return words[0].lower() == "the" and last[:1].isupper() and last.endswith("s")


def answer_kind(question: str, answer: str) -> Kind:
    """The kind of thing ``question`` asked for, judged by its wh-phrase (and the
    answer's own look, for dates and names)."""
    words = [w.lower() for w in tokens(question)]
    head = " ".join(words[:4])
    if re.search(r"\b(what|which|in what|in which) (year|month|day|date|century|decade)\b", head):
        return Kind.TIME
    if re.search(r"\b(what|which) (" + "|".join(PLACE_WORDS) + r")\b", head):
        return Kind.PLACE
    if re.search(r"\bhow (many|much)\b", head):
        return Kind.NUMBER
    if asked := re.search(r"\b(?:what|which) (\w+)", head):  # "Which episode …?"
        noun = asked.group(1)
        if noun in ROLE_WORDS:
            return Kind.PERSON
        if noun not in AUXILIARIES and noun not in FUNCTION_WORDS and noun != "name":
            return Kind.THING  # the noun says what it is: not a person
    first = next((w for w in words if w in {"who", "whom", "whose", "where", "when"}), "")
    if first in {"who", "whom", "whose"}:
        return Kind.PERSON
    if first == "where":
        return Kind.PLACE
    answer_words = tokens(answer)
    if first == "when" or any(YEAR.match(w) or w.lower() in MONTHS for w in answer_words):
        return Kind.TIME
    content = [w for w in answer_words if w.lower() not in FUNCTION_WORDS]
    if content and all(w[:1].isupper() for w in content):
        return Kind.NAME  # "What was the name of …?" → "Börte"
    return Kind.THING


def _name_kind(words: list[str], start: int, end: int) -> Kind:
    """The kind of the name ``words[start:end]``, by its last word and the word before."""
    last = bare(words[end - 1]).lower()
    before = words[start - 1].lower() if start > 0 else ""
    if last in MONTHS or (YEAR.match(last) and len(last) >= 3):
        return Kind.TIME
    if last in PLACE_WORDS or before in PLACE_PREPOSITIONS:
        return Kind.PLACE
    if last in THING_WORDS:
        return Kind.THING
    if last in ROLE_WORDS:
        return Kind.PERSON
    return Kind.NAME


def _extend(words: list[str], start: int, end: int) -> tuple[int, int]:
    """Take in a following lower-case thing or role word ("the Apollo program", "the
    North Korean leader") and the article before it."""
    if end < len(words) and not words[end - 1].endswith(("'s", "’s")):
        nxt = words[end].lower()
        if nxt in THING_WORDS or nxt in ROLE_WORDS:
            end += 1
    named = end - start > 1 or words[end - 1].lower() in THING_WORDS | ROLE_WORDS
    if named and start > 0 and words[start - 1].lower() == "the":
        start -= 1
    return start, end


def _joins(words: list[str], j: int) -> int:
    """How many words at ``j`` continue a name: a capitalised word, a year, a number
    after a name ("Apollo 1"), or a joiner before a capitalised word ("of Erfurt")."""
    w = words[j]
    if is_capitalised(w) or re.fullmatch(r"\d{4}s?", w):
        return 1
    if w.isdigit() and len(w) <= 3 and words[j - 1][:1].isupper():
        return 1
    if w in NAME_JOINERS and j + 1 < len(words) and is_capitalised(words[j + 1]):
        return 2
    return 0


def names(question: str) -> list[tuple[str, Kind, int]]:
    """The names written in ``question``: (text, kind, word position), in order."""
    words = tokens(question)
    found, i = [], 0
    while i < len(words):
        if not (is_capitalised(words[i]) or re.fullmatch(r"\d{4}s?", words[i])):
            i += 1
            continue
        j = i + 1
        while j < len(words) and not words[j - 1].endswith(("'s", "’s")):
            if not (step := _joins(words, j)):
                break
            j += step
        start, end = _extend(words, i, j)
        text = " ".join(words[start:end])
        text = bare(text) if text.endswith(("'s", "’s")) else text
        kind = _name_kind(words, i, j) if end == j else _name_kind(words, start, end)
        found.append((text, kind, start))
        i = j
    return found


def noun_phrases(question: str) -> list[tuple[str, Kind, int]]:
    """Phrases "the/a … noun" of ``question`` headed by a common noun ("the summit", "the
    Apollo 1 cabin fire"): what "it" and "they" most often point back to."""
    words = tokens(question)
    found = []
    for i, w in enumerate(words):
        if w.lower() not in {"the", "a", "an"}:
            continue
        phrase = [w]
        for r in words[i + 1 : i + 7]:
            low = r.lower()
            stop = low in AUXILIARIES or low in FUNCTION_WORDS or low in PARTICIPLES
            if stop or (low.endswith("ed") and r.islower()) or r.endswith(("'s", "’s")):
                break
            phrase.append(r)
        if i > 0 and words[i - 1].lower() in {"did", "does", "do"} and len(phrase) > 2:
            phrase.pop()  # "When did the war end?": the last word is the verb
        head = phrase[-1]
        if len(phrase) < 2 or not head.islower() or head in TIME_WORDS:
            continue
        kind = (
            Kind.PLACE if head in PLACE_WORDS else Kind.PERSON if head in ROLE_WORDS else Kind.THING
        )
        found.append((" ".join(phrase), kind, i))
    return found


def mentions(history: list[tuple[str, str | None]]) -> list[Mention]:
    """Everything the turns (question, answer), oldest first, mentioned: the latest
    turn first; in a turn, its answer first, then its question's names and noun
    phrases in the order written (a phrase before the name inside it)."""
    out: list[Mention] = []
    for back, (question, answer) in enumerate(reversed(history)):
        if answer:
            kind = answer_kind(question, answer)
            plural = any(is_plural(part) for part in re.split(r"\s*[,(;]\s*", answer))
            out.append(Mention(answer, kind, back, True, plural))
        written = sorted(names(question) + noun_phrases(question), key=lambda m: (m[2], -len(m[0])))
        for text, kind, _ in written:
            plural = is_plural(text) and kind is not Kind.NAME
            out.append(Mention(text, kind, back, False, plural))
    return out
