import math

import pytest
import torch

from rag.reading.base import Span
from rag.reading.decoding import decode_windows
from rag.reading.lexical import LexicalReader
from rag.reading.windows import length_batches

NEG = -1e4


def _logits(length: int, start: dict[int, float], end: dict[int, float]):
    s = torch.full((1, length), NEG)
    e = torch.full((1, length), NEG)
    for i, v in start.items():
        s[0, i] = v
    for i, v in end.items():
        e[0, i] = v
    return s, e


def test_best_span_and_its_probability():
    mask = torch.tensor([[False, False, False, True, True, True, True, False]])
    s, e = _logits(8, {0: 0.0, 4: 5.0}, {0: 0.0, 5: 5.0})
    ((span,),) = decode_windows(s, e, mask, max_answer_tokens=30)
    assert (span.start, span.end) == (4, 5)
    # softmax over the one valid strong span against [CLS] (score 0) and weak spans
    assert span.probability == pytest.approx(math.exp(10) / (math.exp(10) + 1), rel=1e-3)


def test_spans_never_cross_the_question_boundary():
    # the strongest start is in the question (position 1): it must be ignored
    mask = torch.tensor([[False, False, False, True, True, True]])
    s, e = _logits(6, {1: 9.0, 3: 1.0}, {4: 1.0})
    ((span,),) = decode_windows(s, e, mask, max_answer_tokens=30)
    assert span.start >= 3 and span.end >= span.start


def test_end_before_start_and_over_long_spans_are_invalid():
    mask = torch.tensor([[False] + [True] * 9])
    s, e = _logits(10, {6: 9.0, 1: 1.0}, {2: 9.0, 9: 1.0})
    ((span,),) = decode_windows(s, e, mask, max_answer_tokens=30)
    assert span.start <= span.end
    ((short,),) = decode_windows(s, e, mask, max_answer_tokens=2)
    assert short.end - short.start < 2


def test_no_answer_gives_low_probability_and_n_best_do_not_overlap():
    mask = torch.tensor([[False, True, True, True, True, True, True]])
    s, e = _logits(7, {0: 10.0, 1: 1.0, 4: 1.5}, {0: 10.0, 2: 1.0, 5: 1.5})
    (spans,) = decode_windows(s, e, mask, max_answer_tokens=30, n_best=3)
    assert spans[0].probability < 0.01
    assert len(spans) >= 2
    for a in spans:
        for b in spans:
            if a is not b:
                assert a.end < b.start or b.end < a.start


def test_a_nested_span_nearly_as_probable_is_preferred_to_the_long_one():
    """ "Pyongyang" rather than "seated across a table from Kim in Pyongyang"."""
    mask = torch.tensor([[False] + [True] * 9])
    # long span 2..8 scores 10; nested 7..8 scores 9.5 (e^-0.5 = 0.61 of it): preferred
    s, e = _logits(10, {2: 5.0, 7: 4.5}, {8: 5.0})
    ((span,),) = decode_windows(s, e, mask, max_answer_tokens=30)
    assert (span.start, span.end) == (7, 8)
    # nested one far less probable (e^-3 = 0.05 of it): the long span stays
    s, e = _logits(10, {2: 5.0, 7: 2.0}, {8: 5.0})
    ((span,),) = decode_windows(s, e, mask, max_answer_tokens=30)
    assert (span.start, span.end) == (2, 8)
    ((span,),) = decode_windows(s, e, mask, max_answer_tokens=30, prefer_shorter=0)
    assert (span.start, span.end) == (2, 8)


def test_windows_are_batched_by_length_with_little_padding():
    assert length_batches([222, 252, 119], batch_size=32) == [[2], [0, 1]]
    assert length_batches([100, 101, 99, 102], batch_size=32) == [[2, 0, 1, 3]]
    assert length_batches([100] * 5, batch_size=2) == [[0, 1], [2, 3], [4]]
    assert length_batches([], batch_size=4) == []


def test_lexical_reader_returns_exact_slices():
    contexts = ["Nothing here.", "Kim was invited to Moscow by Lavrov."]
    spans = LexicalReader().read("Where was Kim invited?", contexts)
    assert spans and isinstance(spans[0], Span)
    for sp in spans:
        assert contexts[sp.context][sp.start : sp.end] == sp.text
    assert spans[0].text == "Moscow"
    assert LexicalReader().read("the of", contexts) == []
    # the whole Reader protocol: pairs read one by one, each span a slice of its own pair
    per_pair = LexicalReader().read_pairs(["Where was Kim invited?"] * 2, contexts)
    assert [[s.text for s in spans] for spans in per_pair] == [[], ["Moscow"]]
    assert LexicalReader.model_name == "lexical"


def test_readers_are_named_by_the_settings(tmp_path):
    """``RAG_READER_MODEL``: a packaged reader's name, ``lexical``, or a path; a path
    that does not exist is refused before anything loads."""
    from rag.reading.loading import load_reader

    assert isinstance(load_reader("lexical"), LexicalReader)
    by_name = load_reader("fast")
    assert by_name.model_name == "fast" and by_name.location.endswith("models/reader")
    by_path = load_reader(by_name.location)
    assert by_path.model_name == by_name.location
    with pytest.raises(FileNotFoundError):
        load_reader(str(tmp_path / "nowhere"))


# ------------------------------------------------------------ the shipped model (slow)


@pytest.mark.model
def test_the_trained_reader_ships_with_the_package(reader):
    from rag.core.settings import PACKAGED_READER, Settings
    from rag.reading.transformer import TransformerReader

    assert Settings().reader_model == "fast" and reader.model_name == "fast"
    assert isinstance(reader, TransformerReader) and reader.location == str(PACKAGED_READER)
    assert (PACKAGED_READER / "model.safetensors").stat().st_size < 50 * 1024 * 1024
    assert 0 < reader.threshold < 1


@pytest.mark.model
def test_trained_reader_spans_are_exact_slices_of_their_passages(reader):
    contexts = [
        "The Quillon bridge crosses the river Aramo. It was designed by Ilse Varga in 1931.",
        "Bananas are rich in potassium.",
        "Café Würzburg — opened in 1902 — is run by Zoë Ång.",
    ]
    spans = reader.read("Who designed the Quillon bridge?", contexts)
    assert spans[0].text == "Ilse Varga" and spans[0].context == 0
    for sp in spans:
        assert contexts[sp.context][sp.start : sp.end] == sp.text
        assert 0 <= sp.confidence <= 1
    (who,) = [s for s in reader.read("Who runs Café Würzburg?", contexts[2:]) if s.context == 0][:1]
    assert who.text == "Zoë Ång"


@pytest.mark.model
def test_trained_reader_is_unsure_when_the_passage_lacks_the_answer(reader):
    (best, *_) = reader.read("Who designed the Quillon bridge?", ["Bananas are rich in potassium."])
    sure = reader.read(
        "Who designed the Quillon bridge?", ["The Quillon bridge was designed by Ilse Varga."]
    )[0]
    assert best.confidence < reader.threshold < sure.confidence


@pytest.mark.model
def test_long_passages_are_read_in_strided_windows(reader):
    filler = " ".join(f"Sentence {i} is about nothing in particular." for i in range(120))
    context = filler + " The treasure is buried under the old Harlow lighthouse. " + filler
    (best, *_) = reader.read("Where is the treasure buried?", [context])
    assert "Harlow lighthouse" in best.text
    assert context[best.start : best.end] == best.text
