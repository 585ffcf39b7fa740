"""Words of questions and passages: one tokenisation and one stop-word list.

Lexical search, the reading window (rag.focus), the model-free reader and the
training negatives all need "the words of this text that carry meaning"; they
share this definition so that they agree on what a question asks about.
"""

from __future__ import annotations

import re

WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have how i if in "
    "into is it its of on or s she he that the their them they this to was were what when where "
    "which who whom whose why will with would you".split()
)
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
