"""Splitting documents into overlapping passages at sentence boundaries.

Passages of about 100-200 words fit the reader's window with the question, and
a sentence or two of overlap keeps an answer whose evidence straddles a boundary
inside at least one passage. Every chunk keeps exact offsets into the document.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from rag.core.locations import regions_within
from rag.core.types import Chunk, Document

if TYPE_CHECKING:  # the parse worker imports this module: no settings, no pydantic-settings
    from rag.core.settings import Settings

_WORD = re.compile(r"\S+")
_SURE_END = re.compile(r"(?<=[a-z]{3}[.!?])[\"'”’)\]]*\s+(?=[\"“(]?[A-Z])")
_SPACE = re.compile(r"\s+")
_STOP = re.compile(r"[.!?]+\s")


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


#: pysbd's time grows with the square of a line's sentences ("a. a. …" of 60 kB took
#: 46 s): a line with more sentences or characters than these is handed to it in blocks,
#: so that splitting stays linear in the text. Ordinary paragraphs are one block.
PYSBD_BLOCK_CHARS = 3_000
PYSBD_BLOCK_SENTENCES = 48


def precise_sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence by pysbd (abbreviations, quotes, numbers); a line
    break always ends a sentence. Passages are cut here, once per document, so the
    slower, better splitter is worth it; :func:`rag.core.text.sentence_spans` is the
    cheap one used per question."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        for lo, hi in _blocks(line.group()):
            base = line.start() + lo
            block = line.group()[lo:hi]
            for seg in _segmenter().segment(block):
                raw = block[seg.start : seg.end]
                lead = len(raw) - len(raw.lstrip())
                start, end = base + seg.start + lead, base + seg.start + len(raw.rstrip())
                if end > start:
                    spans.append((start, end))
    return spans


def _blocks(line: str) -> list[tuple[int, int]]:
    """``line`` in pieces of at most :data:`PYSBD_BLOCK_CHARS` characters and about
    :data:`PYSBD_BLOCK_SENTENCES` sentences, each cut in the second half of its window
    where a sentence surely ends (a word of three letters, a stop, then a capital: not
    "Dr. Kask" nor "a.m. on"), else at a space, else anywhere."""
    stops = [m.end() for m in _STOP.finditer(line)]
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


def _split_long(
    text: str, span: tuple[int, int], max_words: int, max_chars: int
) -> list[tuple[int, int]]:
    """Cut a sentence longer than ``max_words`` into word windows, and any window longer
    than ``max_chars`` (an unbroken "word" of a megabyte) into pieces of that many
    characters: no passage, and so no citation in an answer, outgrows ``max_chars``."""
    words = list(_WORD.finditer(text, span[0], span[1]))
    windows = (
        [span]
        if len(words) <= max_words
        else [
            (words[i].start(), words[min(i + max_words, len(words)) - 1].end())
            for i in range(0, len(words), max_words)
        ]
    )
    return [
        (lo, min(lo + max_chars, end))
        for start, end in windows
        for lo in range(start, end, max_chars)
    ]


@dataclass(frozen=True)
class Chunker:
    """Greedy sentence packing with a word target, a hard cap and an overlap.

    The overlap is whole sentences: trailing sentences of a passage are repeated at
    the start of the next until they reach ``overlap_words`` (so at least one).
    """

    target_words: int = 150
    max_words: int = 200
    overlap_words: int = 30
    #: a passage's hard length; 200 words of ordinary text are about 1,300 characters
    max_chars: int = 2_000

    @classmethod
    def from_settings(cls, settings: Settings) -> Chunker:
        """The chunker of the settings (``RAG_CHUNK_WORDS``, ``RAG_MAX_CHUNK_WORDS``,
        ``RAG_OVERLAP_WORDS``): indexing, rebuilding and the benchmarks cut alike."""
        return cls(settings.chunk_words, settings.max_chunk_words, settings.overlap_words)

    def sentences(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, words) per sentence, long sentences already cut."""
        out = []
        for span in precise_sentence_spans(text):
            for start, end in _split_long(text, span, self.max_words, self.max_chars):
                out.append((start, end, len(_WORD.findall(text, start, end))))
        return out

    def split(self, document: Document) -> list[Chunk]:
        """The document's passages, each with its offsets into ``document.text``."""
        text = document.text
        return [
            Chunk(
                document.doc_id,
                i,
                start,
                end,
                text[start:end],
                regions=regions_within(document.regions, start, end),
            )
            for i, (start, end) in enumerate(self.spans(text))
        ]

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each passage: all of :meth:`split` but building the chunks, so
        that a parse worker can do it for a large text and send back only offsets."""
        sents = self.sentences(text)
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(sents):
            j, words = i, sents[i][2]
            while (
                j + 1 < len(sents)
                and words < self.target_words
                and (words + sents[j + 1][2] <= self.max_words)
                and sents[j + 1][1] - sents[i][0] <= self.max_chars
            ):
                j += 1
                words += sents[j][2]
            spans.append((sents[i][0], sents[j][1]))
            if j + 1 >= len(sents):
                break
            k, tail = j + 1, 0
            while k - 1 > i and tail < self.overlap_words:
                k -= 1
                tail += sents[k][2]
            i = k
        return spans
