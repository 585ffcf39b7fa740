"""Follow-up questions made to stand alone, so that retrieval and the reader, which read
one question at a time, can answer them.

    >>> from rag.conversation import Turn, resolve
    >>> history = [Turn("Where was Kim invited?", "Moscow")]
    >>> resolve("Who invited him?", history)
    'Who invited Kim?'
    >>> resolve("What did Lavrov say there?", history)
    'What did Lavrov say in Moscow?'
    >>> resolve("When?", history + [Turn("Who invited Kim?", "Sergei Lavrov")])
    'When Sergei Lavrov invited Kim?'

Three moves, tried in order: an elliptical question ("When?", "In which month?") takes
the rest of the previous question; "And Lavrov?" / "What about Lavrov?" swaps a name
of the previous question; otherwise pronouns and pointing phrases (he, his, it, they,
the two of them, there, then, that city, that year) are replaced by the nearest earlier
mention that fits them (rag.conversation.mentions). A question with none of these stands
alone and is returned unchanged, so that a change of topic is never rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.conversation.mentions import Kind, Mention, mentions, names
from rag.conversation.references import REFERENCE, Reference, classify
from rag.conversation.words import AUXILIARIES, FUNCTION_WORDS, MONTHS, tokens

#: Earlier turns taken into account (older ones are dropped).
MAX_TURNS = 10
WH = r"(?:what|which|when|where|who|whom|whose|why|how)"
#: "When?", "In which month?", "How many?", "And what year?": a wh-phrase and no verb.
_ELLIPSIS = re.compile(
    r"\s*(?:(?:and|but|so)\s*,?\s+)?(?P<wh>(?:(?:in|on|at|for|from|by|to|with|since|until|"
    r"during)\s+)?(?:(?:what|which)(?:\s+(?!else\b)[a-z'’-]+(?<!ed)){1,2}|when|where|who|whom|"
    r"why|how(?:\s+(?:many|much|long|old|far|often|big|large|tall)(?:\s+[a-z'’-]+)?)?))"
    r"\s*[?.!]*\s*",
    re.IGNORECASE,
)
_SWAP = re.compile(
    r"\s*(?:(?:and|but)\s+)?(?:(?:what|how)\s+about|and)\s+(?P<x>[^?]+?)\s*[?.!]*\s*",
    re.IGNORECASE,
)
_WH_START = re.compile(
    rf"^\s*(?:(?:in|on|at|for|from|by|to|with|since|until|during)\s+)?{WH}\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: the question as the user wrote it, and the answer the
    service gave (None when it abstained)."""

    question: str
    answer: str | None = None


def resolve(question: str, history: Sequence[Turn]) -> str:
    """``question`` rewritten to stand alone, given the conversation so far (oldest
    first); unchanged when it already stands alone or nothing fits."""
    resolved: list[tuple[str, str | None]] = []
    for turn in list(history)[-MAX_TURNS:]:
        resolved.append((_resolve_one(turn.question, resolved), turn.answer))
    return _resolve_one(question, resolved)


def _resolve_one(question: str, history: list[tuple[str, str | None]]) -> str:
    if not history:
        return question
    for move in (_swap, _ellipsis):
        if (rewritten := move(question, history)) is not None:
            return rewritten
    return _references(question, mentions(history))


def _no_verb(text: str) -> bool:
    return not any(w.lower() in AUXILIARIES for w in tokens(text))


def _ellipsis(question: str, history: list[tuple[str, str | None]]) -> str | None:
    """ "When?" after "Where was Kim invited?" → "When was Kim invited?"."""
    m = _ELLIPSIS.fullmatch(question)
    if m is None or not _no_verb(question):
        return None
    previous, answer = history[-1]
    start = _WH_START.match(previous)
    if start is None:
        return None
    words = list(re.finditer(r"[\w'’-]+", previous))
    aux = next((w for w in words[1:7] if w.group().lower() in AUXILIARIES), None)
    wh = m.group("wh")
    subject = aux is not None and _verb_after(previous[aux.end() :])
    if aux is not None and not subject:
        rest = previous[aux.start() :]
    elif aux is not None:  # "Which city will host …?": the answer is the subject
        rest = f"{aux.group()} {_short(answer) if answer else ''} {previous[aux.end() :]}"
    else:  # "Who invited Kim?" (the wh-word is the subject): its answer takes its place
        rest = previous[start.end() :].strip()
        asked = start.group().split()[-1].lower()
        if asked in {"what", "which"} and _verb_after(rest):  # "Which city hosts …?"
            rest = rest.split(" ", 1)[-1]
        if answer and asked in {"who", "what", "which"}:
            rest = f"{_short(answer)} {rest}"
    return _sentence(f"{wh} {rest}")


def _verb_after(text: str) -> bool:
    """Whether ``text`` (what follows an auxiliary) begins with a verb rather than with
    its subject: a lower-case word that is no article, pronoun or other function word."""
    words = tokens(text)
    return bool(words) and words[0].islower() and words[0] not in FUNCTION_WORDS


def _swap(question: str, history: list[tuple[str, str | None]]) -> str | None:
    """ "And Lavrov?" after "Where was Kim invited?" → "Where was Lavrov invited?"."""
    m = _SWAP.fullmatch(question)
    if m is None:
        return None
    new = m.group("x")
    if len(new.split()) > 6 or not _no_verb(new) or re.match(WH, new, re.IGNORECASE):
        return None
    previous, _ = history[-1]
    new_names = names(new)
    wants_time = bool(new_names) and new_names[0][1] is Kind.TIME
    for text, kind, _ in names(previous):
        if (kind is Kind.TIME) == wants_time:
            return _sentence(previous.replace(text, new, 1))
    return None


def _references(question: str, candidates: list[Mention]) -> str:
    """Pronouns and pointing phrases replaced by the mentions they point at."""
    own = names(question)
    present = question.lower()
    used: dict[str, Mention] = {}  # role ("subject", "object", ...) → its referent
    out, last = [], 0
    for m in REFERENCE.finditer(question):
        ref = classify(m, question)
        if ref is None or _bound_inside(ref, own, question[: m.start()]):
            continue
        again = f"{ref.group}:{ref.role}" in used or (
            ref.role == "possessive" and f"{ref.group}:subject" in used
        )
        if again and not ref.pair:
            continue  # "… he conquered before he died": named once, then a pronoun again
        text = _referent(ref, candidates, used, present)
        if text is None:
            continue
        out.append(question[last : m.start()] + text)
        last = m.end()
    if not out:
        return question
    return _sentence("".join(out) + question[last:])


def _bound_inside(ref: Reference, own: list[tuple[str, Kind, int]], before: str) -> bool:
    """Whether the question itself holds what a subject or possessive pronoun means: a
    name before it ("Who did Genghis Khan name as his successor?"), or for "their" a
    plural noun ("his followers … their obedience")."""
    if ref.role == "object" or ref.pair:
        return False
    at = len(tokens(before))
    if ref.group == "plural" and any(
        w.islower() and w.endswith("s") and not w.endswith("ss") and len(w) > 3
        for w in tokens(before)
        if w not in FUNCTION_WORDS
    ):
        return True
    return any(kind in ref.fits and start < at for _, kind, start in own)


def _referent(
    ref: Reference, candidates: list[Mention], used: dict[str, Mention], present: str
) -> str | None:
    """The nearest mention that fits ``ref``, written as ``ref`` needs it. A pronoun
    repeated in its role, or a possessive after its subject ("he … his"), keeps the same
    referent; a subject and an object ("he … him") get different ones."""
    key = f"{ref.group}:{ref.role}"
    subject = f"{ref.group}:subject"
    if key in used or (ref.role == "possessive" and subject in used):
        chosen = [used.get(key) or used[subject]]
    else:
        taken = {id(v) for v in used.values()}
        fitting = [
            c
            for c in candidates
            if c.kind in ref.fits
            and id(c) not in taken
            and not (ref.singular and c.plural)
            and _short(c.text).lower() not in present
        ]
        if ref.group == "plural":  # "they": a group, never a single name
            fitting = [c for c in fitting if c.plural]
        chosen = _distinct(fitting, 2 if ref.pair else 1)
        if len(chosen) < (2 if ref.pair else 1):
            return None
        used[key] = chosen[0]
    text = " and ".join(_short(c.text) for c in chosen)
    if ref.possessive:
        text += "'" if text.endswith("s") else "'s"
    template = ref.template
    if template == "in {}" and ref.group == "time" and _a_day(text):
        template = "on {}"
    return template.format(text)


def _a_day(text: str) -> bool:
    """ "31 October 1517", "Monday": a day takes "on", a year or month "in"."""
    words = [w.lower() for w in tokens(text)]
    days = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
    return bool(set(words) & days) or (
        any(w in MONTHS for w in words) and any(w.isdigit() and len(w) <= 2 for w in words)
    )


def _distinct(mentions_: list[Mention], n: int) -> list[Mention]:
    out: list[Mention] = []
    for c in mentions_:
        if all(_short(c.text).lower() != _short(o.text).lower() for o in out):
            out.append(c)
        if len(out) == n:
            break
    return out


def _short(text: str) -> str:
    """An answer as a referent: its head, before any apposition ("Yesügei, a chief …"),
    or the name in apposition ("his father's former allies, the Tayichi'ud")."""
    parts = [p.strip().rstrip(".") for p in re.split(r"\s*[,(;:]\s*", text.strip()) if p.strip()]
    if not parts:
        return text.strip()
    named = [p for p in parts if re.match(r"(?:the\s+)?[A-Z]", p)]
    return named[0] if named and not parts[0][:1].isupper() else parts[0]


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    text = text.rstrip("?.! ") + "?"
    first = text.split(" ", 1)[0]
    if first.lower() in FUNCTION_WORDS or first.islower():
        text = text[:1].upper() + text[1:]
    return text
