import itertools
import re
import time

import pytest

from rag.core.types import Document
from rag.documents import ingest
from rag.documents.chunking import Chunker, precise_sentence_spans
from tests.support.paths import SEEDS


def _doc(text: str) -> Document:
    return Document(doc_id="d", title="t", text=text)


def test_offsets_hold_on_the_seeds():
    for path in SEEDS.glob("*.txt"):
        doc = ingest.read_file(path)
        chunks = Chunker().split(doc)
        assert len(chunks) >= 2
        for c in chunks:
            assert doc.text[c.start : c.end] == c.text
            assert len(c.text.split()) <= 200
        # every sentence of the document is in some chunk
        covered = set()
        for c in chunks:
            covered.update(range(c.start, c.end))
        for s, e in precise_sentence_spans(doc.text):
            assert s in covered and e - 1 in covered


def test_chunks_are_sized_and_overlap_by_whole_sentences():
    sentences = [f"Sentence number {i} has exactly seven words." for i in range(100)]
    text = " ".join(sentences)
    chunks = Chunker(target_words=50, max_words=60, overlap_words=10).split(_doc(text))
    assert len(chunks) > 5
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end, "neighbours overlap"
        assert text[b.start : a.end].endswith(".")
        assert 50 <= len(a.text.split()) <= 60
    assert chunks[-1].end == len(text)


def test_a_sentence_longer_than_the_cap_is_cut_into_word_windows():
    text = " ".join(["word"] * 450) + "."
    chunks = Chunker(target_words=150, max_words=200, overlap_words=0).split(_doc(text))
    assert all(len(c.text.split()) <= 200 for c in chunks)
    assert sum(len(c.text.split()) for c in chunks) == 450
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_line_breaks_end_sentences_and_whitespace_is_not_in_chunks():
    text = "Headline without stop\n\nFirst sentence.  Second one!\n"
    spans = precise_sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "Headline without stop",
        "First sentence.",
        "Second one!",
    ]
    chunk = Chunker().split(_doc(text))[0]
    assert not re.match(r"\s", chunk.text) and not chunk.text.endswith((" ", "\n"))


def test_empty_document_gives_no_chunks():
    assert Chunker().split(_doc("")) == []


@pytest.mark.parametrize(
    "body",
    ["x" * 150_000, "a. " * 50_000, "word " * 30_000, "w\n" * 50_000],
    ids=["one-unbroken-word", "tiny-sentences-on-one-line", "no-sentence-end", "short-lines"],
)
def test_hostile_text_is_cut_in_linear_time_into_bounded_passages(body):
    """pysbd alone took 46 s on 60 kB of "a. a. …" (quadratic in a line's sentences),
    and an unbroken word became one 2 MB passage that every citation then carried."""
    doc = _doc("Title\n\n" + body)
    started = time.perf_counter()
    chunks = Chunker().split(doc)
    assert time.perf_counter() - started < 10
    assert chunks and all(len(c.text) <= Chunker().max_chars for c in chunks)
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)
    covered = {i for c in chunks for i in range(c.start, c.end)}
    assert all(i in covered for i, ch in enumerate(doc.text) if not ch.isspace())


def test_a_long_paragraph_is_split_into_the_same_sentences_in_blocks():
    """A line longer than pysbd's block is handed to it in pieces cut at sentence ends:
    the sentences stay whole (and an abbreviation inside a piece is still understood)."""
    sentence = "Dr. Kask met Mr. Tamm in Tartu at 10 a.m. on the square. "
    text = (sentence * 60).strip()
    spans = precise_sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [sentence.strip()] * 60
