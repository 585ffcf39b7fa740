"""Choosing the window of a passage to read (rag.reading.focus)."""

from rag.reading.focus import focus_window, sentence_spans

PASSAGE = (
    "The weather in Moscow was cold that week. Officials met in the Kremlin on Monday. "
    "Sergei Lavrov invited Kim Jong Un to visit Moscow later this year. "
    "The invitation was delivered in Pyongyang. Markets were calm on Tuesday."
)


def test_sentence_spans_cover_whole_sentences():
    spans = sentence_spans(PASSAGE)
    assert len(spans) == 5
    assert PASSAGE[spans[2][0] : spans[2][1]].startswith("Sergei Lavrov invited")
    assert all(PASSAGE[e - 1] == "." for _, e in spans)


def test_the_window_holds_the_sentences_that_match_the_question():
    start, end = focus_window("Who invited Kim Jong Un to Moscow?", PASSAGE, 25)
    window = PASSAGE[start:end]
    assert "Sergei Lavrov invited Kim Jong Un" in window
    assert len(window.split()) <= 25
    assert window[0].isupper() and window.endswith("."), "whole sentences only"


def test_a_short_passage_is_read_whole():
    assert focus_window("Who invited Kim?", PASSAGE, 200) == (0, len(PASSAGE))
    one = "Lavrov invited Kim to Moscow in a long sentence that goes on and on."
    assert focus_window("Who invited Kim?", one, 5) == (0, len(one)), "one sentence at least"
