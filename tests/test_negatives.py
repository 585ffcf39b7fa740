import random

from rag import squad
from rag.negatives import (
    CHANGED_QUESTION,
    DISTRACTOR,
    LEXICAL,
    NegativeMaker,
    Shares,
    make_pairs,
    perturbed_examples,
)
from rag.phrases import negate, phrases, statement
from tests.conftest import FIXTURES

MINI = FIXTURES / "mini_squad.json"


def _examples():
    return squad.load([MINI])


def test_phrases_find_years_numbers_and_names_but_not_a_sentence_opening_word():
    text = "Kites came to Tartu in 1987. About 4,000 people from Maret Kask Town came."
    found = {text[a:b]: kind for a, b, kind in phrases(text)}
    assert found["1987"] == "year"
    assert found["4,000"] == "number"
    assert found["Tartu"] == "name" and found["Maret Kask Town"] == "name"
    assert "Kites" not in found and "About" not in found


def test_a_changed_question_names_something_the_paragraph_never_mentions():
    examples = _examples()
    maker = NegativeMaker(examples)
    z3 = next(e for e in examples if e.id == "z3")  # "In which year was ... founded?" 1987
    changed = [maker.changed_question(z3, random.Random(seed)) for seed in range(20)]
    changed = [p for p in changed if p is not None]
    assert changed, "a year or a name of the question can always be swapped here"
    for pair in changed:
        assert pair.kind == CHANGED_QUESTION and pair.spans == [] and pair.context == z3.context
        assert pair.question != z3.question


def test_a_distractor_keeps_the_gold_answer_at_its_new_offset():
    examples = _examples()
    maker = NegativeMaker(examples)
    made = 0
    for ex in examples:
        for seed in range(10):
            pair = maker.distractor(ex, random.Random(seed))
            if pair is None:
                continue
            made += 1
            assert pair.kind == DISTRACTOR and len(pair.context) > len(ex.context)
            assert {pair.context[a:b] for a, b in pair.spans} <= set(ex.answers)
            assert pair.spans
    assert made > 0


def test_the_lexical_negative_is_the_closest_paragraph_without_the_answer():
    examples = _examples()
    maker = NegativeMaker(examples)
    z4 = next(e for e in examples if e.id == "z4")  # asks about the kites' paragraph
    pair = maker.lexical(z4, random.Random(0))
    assert pair is not None and pair.kind == LEXICAL
    assert pair.context != z4.context and "paper and bamboo" not in pair.context


def test_make_pairs_keeps_every_question_and_adds_each_kind_by_share():
    examples = _examples()
    pairs = make_pairs(examples, Shares(1.0, 1.0, 1.0, 1.0), random.Random(3))
    assert sum(p.kind == "answer" for p in pairs) == len(examples)
    assert {p.kind for p in pairs} >= {"answer", LEXICAL}
    assert all(not p.spans for p in pairs if p.kind not in ("answer", DISTRACTOR))
    assert len(make_pairs(examples, Shares(0.0), random.Random(3))) == len(examples)


def test_perturbed_examples_round_trip_as_squad_2(tmp_path):
    examples = _examples()
    extra = perturbed_examples(examples, changed_questions=1.0, distractors=1.0, seed=1)
    assert any(e.impossible for e in extra)
    for e in extra:
        if not e.impossible:
            for text, start in zip(e.answers, e.answer_starts, strict=True):
                assert e.context[start : start + len(text)] == text
    path = tmp_path / "v2.json"
    squad.dump(examples + extra, path)
    loaded = {e.id: e for e in squad.load([path])}
    assert sum(e.impossible for e in loaded.values()) == sum(e.impossible for e in extra)


def test_a_question_becomes_a_statement_or_a_negation():
    assert statement("Who regulated the Rhine", "Tulla") == "Tulla regulated the Rhine."
    assert statement("When was the Rhine regulated", "1817") == "The Rhine was regulated in 1817."
    assert statement("Regulated the Rhine", "Tulla") is None
    assert negate("Who was the first king?") == "Who was not the first king?"
    assert negate("Who was not the first king?") is None
