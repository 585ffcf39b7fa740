"""Sentence spans as pysbd finds them, at a fraction of its cost.

pysbd is a careful splitter (abbreviations, initials, quotations, lists) and a slow one:
about 20 ms a paragraph, which once embedding was int8 made splitting 45 % of `rag
index` (docs/performance.md, "Faster embedding"). Two things make it cheaper here:

* Most full stops are plainly the end of a sentence ("… in 1905. The …": a word that is
  no abbreviation, the stop, a space, a capital) or plainly not (a decimal point, a stop
  inside a closed quotation, "Dr. Martin", "John F. Kennedy"). A line is cut at the plain
  ends, and only a piece holding a stop of any other kind ("U.S.", "e.g.", "Rouen. also")
  goes to pysbd. The rules follow pysbd's own (its abbreviation and exclamation-word
  lists, its protection of quotations and brackets); on the 1,683 paragraphs of SQuAD
  dev-part-a the sentences are pysbd's in 99.5 % of paragraphs.
* pysbd's offsets are found with one new regular expression per sentence, which also
  flushes Python's regex cache, so that its abbreviation patterns are compiled again and
  again (half of its time); here they are found with ``str.find`` by pysbd's own rule
  (the same offsets on 2,266 SQuAD paragraphs).
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

_STOP = re.compile(r"[.!?]")
_STOP_SPACE = re.compile(r"[.!?]+\s")
_CLOSERS = "\"'”’)]"
#: after a stop and its closers: white space, then a capital (perhaps after an opening
#: quote or bracket): where a sentence starts
_NEXT_SENTENCE = re.compile(r"\s+(?=[\"“‘(]?[A-Z])")
#: what pysbd treats in ways these rules do not follow: a stop after any of them in the
#: line goes to pysbd (single quotes after a space, em dashes, guillemets)
_TRICKY = re.compile(r"(?<=\s)'|‘|--|«")
_SPACE = re.compile(r"\s+")
_WHITE = re.compile(r"\s*")
_SURE_END = re.compile(r"(?<=[a-z]{3}[.!?])[\"'”’)\]]*\s+(?=[\"“(]?[A-Z])")

#: pysbd's time grows with the square of a line's sentences ("a. a. …" of 60 kB took
#: 46 s): a piece with more sentences or characters than these is handed to it in
#: blocks, so that splitting stays linear in the text. Ordinary paragraphs are one block.
PYSBD_BLOCK_CHARS = 3_000
PYSBD_BLOCK_SENTENCES = 48


@lru_cache(maxsize=1)
def _pysbd():
    """pysbd's segmenter and its word lists (lower case)."""
    import pysbd
    from pysbd.exclamation_words import ExclamationWords
    from pysbd.lang.english import English

    lists = English.Abbreviation
    return (
        pysbd.Segmenter(language="en", clean=False, char_span=False),
        frozenset(a.lower() for a in lists.ABBREVIATIONS),
        frozenset(a.lower() for a in lists.PREPOSITIVE_ABBREVIATIONS),
        frozenset(ExclamationWords.EXCLAMATION_WORDS),
    )


def sentence_spans(line: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of one line (no line break), stripped."""
    spans: list[tuple[int, int]] = []
    for lo, hi, plain in _pieces(line):
        if plain:
            spans += _stripped(line, lo, hi)
            continue
        for b_lo, b_hi in _blocks(line[lo:hi]):
            base = lo + b_lo
            for s, e in pysbd_spans(line[base : lo + b_hi]):
                spans += _stripped(line, base + s, base + e)
    return spans


def _stripped(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    raw = text[lo:hi]
    start, end = lo + len(raw) - len(raw.lstrip()), lo + len(raw.rstrip())
    return [(start, end)] if end > start else []


def _pieces(line: str) -> list[tuple[int, int, bool]]:
    """``line`` cut at its plain sentence ends: (start, end, plain?) per piece, plain
    when it holds no stop that needs pysbd (so it is one sentence)."""
    ends, unsure = _stops(line)
    pieces, lo, k = [], 0, 0
    for end, following in [*ends, (len(line), len(line))]:
        plain = True
        while k < len(unsure) and unsure[k] < end:
            plain = plain and unsure[k] < lo
            k += 1
        pieces.append((lo, end, plain))
        lo = following
    return pieces


def _stops(line: str) -> tuple[list[tuple[int, int]], list[int]]:
    """The plain sentence ends of ``line`` as (end, where the next sentence starts), and
    the positions of the stops only pysbd can judge."""
    ends: list[tuple[int, int]] = []
    unsure: list[int] = []
    tricky = _TRICKY.search(line)
    marks = _Marks(line)
    for match in _STOP.finditer(line):
        i = match.start()
        after = i + 1
        while after < len(line) and line[after] in _CLOSERS:
            after += 1
        verdict = _judge(line, i, after, marks, tricky is not None and tricky.start() < i)
        if verdict == "end":
            ends.append((after, _NEXT_SENTENCE.match(line, after).end()))
        elif verdict == "unsure":
            unsure.append(i)
    return ends, unsure


def _judge(line: str, i: int, after: int, marks: _Marks, tricky: bool) -> str:
    """Whether the stop at ``i`` (its closers end at ``after``) surely ends a sentence
    ("end"), surely does not ("no"), or is for pysbd to judge ("unsure")."""
    _, abbreviations, prepositive, exclaimed = _pysbd()
    before, next_char = line[i - 1 : i], line[i + 1 : i + 2]
    if before.isdigit() and next_char.isdigit():
        return "no"  # a decimal point: 3.5
    if tricky or (before and before in ".!?") or (next_char and next_char in ".!?"):
        return "unsure"
    if marks.quoted(after):
        return "no"  # inside "…", “…”, (…) or […]: pysbd protects them
    closers = line[i + 1 : after]
    start = i
    while start > 0 and line[start - 1].isascii() and line[start - 1].isalnum():
        start -= 1
    word, preceding = line[start:i], line[start - 1 : start] if start else ""
    if any(c in closers for c in ")]”’") or preceding in (".", "'", "’", "-"):
        return "unsure"
    if line[i] == "." and not closers and _NEXT_SENTENCE.match(line, after):
        low = word.lower()
        if low in prepositive or (len(word) == 1 and word.isupper() and word not in "IVX"):
            return "no"  # Dr. Martin, John F. Kennedy
    plain_word = (len(word) >= 2 and not word.isdigit()) or (word.isdigit() and len(word) >= 3)
    if not plain_word or word.lower() in abbreviations or marks.open(after):
        return "unsure"
    if line[i] == "!" and line[start : i + 1] in exclaimed:
        return "unsure"  # Yahoo!
    if _NEXT_SENTENCE.match(line, after):
        return "end"
    return "no" if _WHITE.match(line, after).end() == len(line) else "unsure"  # last stop


class _Marks:
    """Where a line's quotation marks and brackets are, so that whether a position is
    inside a pair is answered by bisection (a line of 60 kB has thousands of stops)."""

    PAIRS = (("“", "”"), ("(", ")"), ("[", "]"))

    def __init__(self, line: str) -> None:
        wanted = {'"', *"“”()[]"}
        self.at: dict[str, list[int]] = {c: [] for c in wanted}
        for i, c in enumerate(line):
            if c in wanted:
                self.at[c].append(i)

    def _before(self, char: str, at: int) -> int:
        return bisect.bisect_left(self.at[char], at)

    def quoted(self, at: int) -> bool:
        """Inside a closed pair pysbd leaves whole: "…", “…”, (…), […]."""
        quotes = self._before('"', at)
        if quotes % 2 == 1 and quotes < len(self.at['"']):
            return True
        for opening, closing in self.PAIRS:
            n = self._before(opening, at)
            if not n:
                continue
            lo = self.at[opening][n - 1]
            if self._before(closing, at) > self._before(closing, lo):
                continue  # closed before ``at``
            k = self._before(closing, at)
            if k < len(self.at[closing]):
                hi = self.at[closing][k]
                if self._before(opening, hi) == n:  # no other opening before it closes
                    return True
        return False

    def open(self, at: int) -> bool:
        """A quotation or bracket opened before ``at`` is still open there."""
        if self._before('"', at) % 2 == 1:
            return True
        return any(self._before(o, at) > self._before(c, at) for o, c in self.PAIRS)


def pysbd_spans(text: str) -> list[tuple[int, int]]:
    """pysbd's sentences of ``text`` with their offsets (trailing white space included),
    by pysbd's rule (each sentence's first occurrence ending past the previous one) but
    with ``str.find``."""
    if not text:
        return []
    segmenter = _pysbd()[0]
    spans, prior = [], 0
    for sentence in segmenter.processor(text).process():
        pos = 0
        while (found := text.find(sentence, pos)) >= 0:
            end = _WHITE.match(text, found + len(sentence)).end()
            if end > prior:
                spans.append((found, end))
                prior = end
                break
            pos = max(end, found + 1)
    return spans


def _blocks(line: str) -> list[tuple[int, int]]:
    """``line`` in pieces of at most :data:`PYSBD_BLOCK_CHARS` characters and about
    :data:`PYSBD_BLOCK_SENTENCES` sentences, each cut in the second half of its window
    where a sentence surely ends (a word of three letters, a stop, then a capital: not
    "Dr. Kask" nor "a.m. on"), else at a space, else anywhere."""
    stops = [m.end() for m in _STOP_SPACE.finditer(line)]
    if len(line) <= PYSBD_BLOCK_CHARS and len(stops) <= PYSBD_BLOCK_SENTENCES:
        return [(0, len(line))]
    blocks, lo = [], 0
    while True:
        nth = bisect.bisect_right(stops, lo) + PYSBD_BLOCK_SENTENCES
        limit = min(lo + PYSBD_BLOCK_CHARS, stops[nth] if nth < len(stops) else len(line))
        if limit >= len(line):
            break
        window = (lo + (limit - lo) // 2, limit)
        ends = [m.end() for m in _SURE_END.finditer(line, *window)]
        spaces = [m.end() for m in _SPACE.finditer(line, *window)]
        cut = max((ends or spaces or [limit])[-1], lo + 1)
        blocks.append((lo, cut))
        lo = cut
    blocks.append((lo, len(line)))
    return blocks
