"""Words of questions and passages: one tokenisation and one stop-word list.

Lexical search, the reading window (rag.reading.focus), the model-free reader and the
training negatives all need "the words of this text that carry meaning"; they
share this definition so that they agree on what a question asks about.
"""

from __future__ import annotations

import re
import string

WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have how i if in "
    "into is it its of on or s she he that the their them they this to was were what when where "
    "which who whom whose why will with would you".split()
)
#: A sentence ends at . ! or ? (with any closing quote or bracket) and spaces, or a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|\n+")
#: A question longer than this many distinct content words is cut (FTS5 query cost).
MAX_QUERY_WORDS = 64


def words(text: str) -> list[str]:
    """Every word of ``text``, lower-cased, in order."""
    return [w.lower() for w in WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """The distinct words without stop words, in order (all words if only stop words)."""
    tokens = words(text)
    content = [t for t in tokens if t not in STOPWORDS] or tokens
    return list(dict.fromkeys(content))[:MAX_QUERY_WORDS]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: a cheap split (the reading window, the training
    negatives); chunking uses pysbd, which is better and slower."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower case, drop punctuation, articles and extra white space (official v1.1)."""
    s = s.lower().translate(_PUNCTUATION)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())
