"""The words of a follow-up that point back: which they are, what they may stand for,
and how the replacement is written ("his" → "Kim's", "there" → "in Moscow").

Not every "it", "there" or "then" points back: "How long did it take …", "Is there …",
"Then who …" are left alone, and so is a "he" whose name the question itself gives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.conversation.mentions import Kind
from rag.conversation.words import AUXILIARIES, FUNCTION_WORDS, tokens

_PERSON = frozenset({Kind.PERSON, Kind.NAME})
_PLURAL = frozenset({Kind.PERSON, Kind.NAME, Kind.THING})
_THING = frozenset({Kind.THING, Kind.NAME, Kind.PLACE})
_PLACE = frozenset({Kind.PLACE})
_TIME = frozenset({Kind.TIME})

_TIME_PREPOSITIONS = "in|on|at|during|by|until|since|before|after|from"
REFERENCE = re.compile(
    r"\b(?:"
    r"(?P<pair>the two of them|both of them|the two leaders|the two men|the pair)"
    r"|(?P<place>(?:that|this) (?:city|town|country|place|region|state|capital|village|island))"
    rf"|(?P<time>(?:(?P<tprep>{_TIME_PREPOSITIONS}) )?(?:that|this) "
    r"(?:year|month|day|date|time|decade|century))"
    r"|(?P<word>he|him|his|she|her|they|them|their|it|its|there|then)"
    r")\b",
    re.IGNORECASE,
)
#: "it" that points at nothing: "How long did it take …", "it is said …".
_DUMMY_IT = re.compile(
    r"\s+(?:take|took|takes|taking|cost|costs|seem|seems|seemed|rain|rained|"
    r"(?:is|was) (?:said|believed|thought|known|estimated|likely|possible))\b",
    re.IGNORECASE,
)
_MOTION = frozenset(
    "go goes went gone come came travel travelled traveled move moved fly flew return "
    "returned send sent invite invited arrive arrived".split()
)


@dataclass(frozen=True)
class Reference:
    """A pointing word or phrase of a question, and how to replace it."""

    group: str  # "person", "plural", "thing", "place", "time": who shares a referent
    role: str  # "subject", "object" or "possessive"
    fits: frozenset[Kind]
    template: str  # "{}" or "in {}"
    word_index: int
    pair: bool = False
    possessive: bool = False

    @property
    def singular(self) -> bool:
        """he, him, his, she, her: never "the Merkits"."""
        return self.group == "person"


def classify(m: re.Match[str], question: str) -> Reference | None:
    """What the match ``m`` of :data:`REFERENCE` in ``question`` points at; None when it
    points at nothing (a dummy "it", an existential "there", "then" as "so")."""
    at = len(tokens(question[: m.start()]))
    before = tokens(question[: m.start()])[-1:] or [""]
    after = tokens(question[m.end() :])[:1] or [""]
    prev, nxt = before[0].lower(), after[0].lower()
    if m.group("pair"):
        return Reference("pair", "subject", _PERSON, "{}", at, pair=True)
    if m.group("place"):
        return Reference("place", "object", _PLACE, "{}", at)
    if m.group("time"):
        prep = (m.group("tprep") or "").lower()
        template = f"{prep} {{}}" if prep and prep not in {"in", "on", "at", "during"} else "in {}"
        return Reference("time", "object", _TIME, template, at)
    word = m.group("word").lower()
    if word == "there":
        return _there(question, m, at, prev, nxt)
    if word == "then":
        if at == 0 or prev in {"and", "but", "so"} or nxt in {"what", "who", "how", "why"}:
            return None
        template = "{}" if prev in _TIME_PREPOSITIONS.split("|") else "in {}"
        return Reference("time", "object", _TIME, template, at)
    if word in {"it", "its"}:
        if word == "it" and _DUMMY_IT.match(question, m.end()):
            return None
        role = "possessive" if word == "its" else "subject"
        return Reference("thing", role, _THING, "{}", at, possessive=word == "its")
    return _personal(word, at, nxt)


def _personal(word: str, at: int, nxt: str) -> Reference:
    if word in {"he", "she"}:
        return Reference("person", "subject", _PERSON, "{}", at)
    if word == "him":
        return Reference("person", "object", _PERSON, "{}", at)
    if word == "his" or (word == "her" and _noun_follows(nxt)):
        return Reference("person", "possessive", _PERSON, "{}", at, possessive=True)
    if word == "her":
        return Reference("person", "object", _PERSON, "{}", at)
    if word == "they":
        return Reference("plural", "subject", _PLURAL, "{}", at)
    if word == "them":
        return Reference("plural", "object", _PLURAL, "{}", at)
    return Reference("plural", "possessive", _PLURAL, "{}", at, possessive=True)


_NOT_NOUNS = frozenset(
    "soon again now then there here back away out up down off later too also first once "
    "still yet ever never home".split()
)


def _noun_follows(nxt: str) -> bool:
    """Whether "her" is a possessive: a word follows that is not a function word or an
    adverb ("her husband", not "her soon after" or "her?")."""
    if not nxt or nxt in FUNCTION_WORDS or nxt in AUXILIARIES or nxt in _NOT_NOUNS:
        return False
    return not nxt.endswith("ly")


def _there(question: str, m: re.Match[str], at: int, prev: str, nxt: str) -> Reference | None:
    """ "there" as a place ("What did he do there?"), not as "there is"."""
    last = not question[m.end() :].strip(" ?.!")
    if nxt in AUXILIARIES or nxt in {"'s", "’s"} or (prev in AUXILIARIES and not last):
        return None
    template = "to {}" if prev in _MOTION else "in {}"
    return Reference("place", "object", _PLACE, template, at)
