"""The sentence splitter that asks pysbd only where a stop is not plain
(rag.documents.sentences): pysbd's sentences, at a fraction of its calls."""

import pysbd
import pytest

from rag.documents import sentences
from rag.documents.sentences import pysbd_spans, sentence_spans

LINES = [
    "The museum opened in 1905. Its first director was Dr. Martin Kask. He stayed.",
    'He cried out, "Help! Saint Anna, I will become a monk!" He kept the vow.',
    "John F. Kennedy met the U.S. Navy in 1961. The meeting lasted 3.5 hours.",
    "Yahoo! The company was founded in 1994 (see p. 5 of the report. Or not.) Then it grew.",
    "Prices rose by 4.2 per cent in the U.K. In France they fell.",
    "The lake is 2 km long, e.g. the largest in the area. It freezes in Jan. and Feb. too.",
    "He wrote: “We stand here. We can do no other.” Nobody answered.",
    "It was discovered in 1629. revolted against the king, as 'the rebels. said' so.",
    "Did she come? Yes! She did... Then she left.",
]


def _pysbd_reference(line: str) -> list[tuple[int, int]]:
    """pysbd's own offsets, stripped as the chunker strips them."""
    segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    out = []
    for span in segmenter.segment(line):
        raw = line[span.start : span.end]
        start = span.start + len(raw) - len(raw.lstrip())
        if raw.strip():
            out.append((start, start + len(raw.strip())))
    return out


@pytest.mark.parametrize("line", LINES)
def test_the_sentences_are_pysbds(line):
    assert sentence_spans(line) == _pysbd_reference(line)


@pytest.mark.parametrize("line", LINES)
def test_offsets_by_find_are_pysbds_own(line):
    segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    assert pysbd_spans(line) == [(s.start, s.end) for s in segmenter.segment(line)]


def test_plain_sentences_never_reach_pysbd(monkeypatch):
    """A paragraph whose stops all plainly end sentences is cut without pysbd; one
    holding "U.S." sends only that sentence."""
    asked: list[str] = []
    real = sentences.pysbd_spans
    monkeypatch.setattr(sentences, "pysbd_spans", lambda text: asked.append(text) or real(text))
    line = "The bridge opened in 1887. It carries trains. Nobody crosses it on foot."
    assert [line[s:e] for s, e in sentence_spans(line)] == [
        "The bridge opened in 1887.",
        "It carries trains.",
        "Nobody crosses it on foot.",
    ]
    assert asked == []
    sentence_spans("It opened in 1887. The U.S. Army used it. Nobody crosses it on foot.")
    assert asked == ["The U.S. Army used it."]
