import itertools
import re

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
