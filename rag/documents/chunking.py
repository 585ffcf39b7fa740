"""Splitting documents into overlapping passages at sentence boundaries.

Passages of about 100-200 words fit the reader's window with the question, and
a sentence or two of overlap keeps an answer whose evidence straddles a boundary
inside at least one passage. Every chunk keeps exact offsets into the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.core.locations import regions_within
from rag.core.types import Chunk, Document
from rag.documents.sentences import sentence_spans

if TYPE_CHECKING:  # the parse worker imports this module: no settings, no pydantic-settings
    from rag.core.settings import Settings

_WORD = re.compile(r"\S+")


def precise_sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence as pysbd finds them (abbreviations, quotes, numbers),
    pysbd asked only where a stop is not plain (:mod:`rag.documents.sentences`); a line
    break always ends a sentence. Passages are cut here, once per document, so the
    slower, better splitter is worth it; :func:`rag.core.text.sentence_spans` is the
    cheap one used per question."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        base = line.start()
        spans += [(base + s, base + e) for s, e in sentence_spans(line.group())]
    return spans


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
