"""Reading less: the sentences of a passage most likely to hold the answer.

The reader's cost grows with the tokens it reads, and most of a 150-word passage
is far from the answer. Before reading, each passage is cut to the run of whole
sentences, at most ``max_words`` long, that covers the most distinct question
words (ties: the earlier run). In SQuAD the answer sits in the sentence that
shares the most words with the question for most questions; the window keeps a
neighbour or two around it for context. Offsets stay exact: the pipeline shifts
the reader's spans by the window's start.
"""

from __future__ import annotations

import re

from rag.core.text import content_words, sentence_spans

_WORD = re.compile(r"\w+")
_SUFFIX = re.compile(r"(?:ing|ed|es|s)$")


def _stem(word: str) -> str:
    """A crude stem, enough to match "invited" with "invite" and "talks" with "talk"."""
    word = word.lower()
    return _SUFFIX.sub("", word) if len(word) > 4 else word


def focus_window(question: str, text: str, max_words: int) -> tuple[int, int]:
    """Character span of the best run of whole sentences of at most ``max_words`` words
    (the whole text when it is short enough; one sentence at least)."""
    sentences = sentence_spans(text)
    words = [len(_WORD.findall(text, s, e)) for s, e in sentences]
    if sum(words) <= max_words or len(sentences) < 2:
        return 0, len(text)
    wanted = {_stem(w) for w in content_words(question)}
    found = [{_stem(w) for w in _WORD.findall(text, s, e)} & wanted for s, e in sentences]
    best, best_score = (0, 0), (-1, 0)
    for i in range(len(sentences)):
        covered: set[str] = set()
        total, j = 0, i
        while j < len(sentences) and (j == i or total + words[j] <= max_words):
            covered |= found[j]
            total += words[j]
            j += 1
        # most question words covered, then the most context within the budget
        score = (len(covered), total)
        if score > best_score:
            best, best_score = (i, j - 1), score
    return sentences[best[0]][0], sentences[best[1]][1]
