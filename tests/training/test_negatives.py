import random

from rag.evaluation import squad
from rag.evaluation.edits import without_sentences, without_set_off
from rag.evaluation.perturb import perturbed_examples
from rag.evaluation.phrases import negate, phrases, statement
from rag.training.negatives import (
    ANSWER_REMOVED,
    CHANGED_QUESTION,
    DISTRACTOR,
    LEXICAL,
    NegativeMaker,
    Shares,
    make_pairs,
)
from tests.support.paths import FIXTURES

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
    removed = [
        p
        for p in make_pairs(examples, Shares(0.0, answer_removed=1.0), random.Random(3))
        if p.kind == ANSWER_REMOVED
    ]
    by_question = {e.question: e for e in examples}
    assert removed and all(not p.spans for p in removed)
    for p in removed:  # the paragraph is the question's own, without any gold answer
        ex = by_question[p.question]
        assert p.context != ex.context and not any(a in p.context for a in ex.answers)


def _example(question: str, context: str, answer: str) -> squad.Example:
    return squad.Example(
        id="q", question=question, context=context, answers=(answer,),
        answer_starts=(context.index(answer),), article="a", paragraph=0,
    )  # fmt: skip


def test_an_answer_set_off_by_commas_or_brackets_is_cut_with_them():
    text = "Russia's foreign minister, Sergei Lavrov, met Kim. He praised Lavrov (Sergei Lavrov)."
    assert without_set_off(text, "Sergei Lavrov") == (
        "Russia's foreign minister met Kim. He praised Lavrov."
    )
    assert without_set_off("They came from its capital, Tartu.", "Tartu") == (
        "They came from its capital."
    )
    # an answer that is not set off would leave a gap: no cut
    assert without_set_off("Sergei Lavrov met Kim, Sergei Lavrov.", "Sergei Lavrov") is None


def test_the_answer_removed_pair_still_describes_what_is_asked_but_not_the_answer():
    maker = NegativeMaker(_examples())
    ex = _example(
        "Who is Russia's foreign minister?",
        "Kim met Russia's foreign minister, Sergei Lavrov, in Pyongyang. They talked.",
        "Sergei Lavrov",
    )
    pair = maker.answer_removed(ex, random.Random(0))
    assert pair is not None and pair.kind == ANSWER_REMOVED and pair.spans == []
    assert pair.context == "Kim met Russia's foreign minister in Pyongyang. They talked."


def test_where_the_answer_is_not_set_off_its_sentence_goes_if_the_rest_shares_the_topic():
    maker = NegativeMaker(_examples())
    context = (
        "The kite festival of Tartu began in 1987. The kite festival draws crowds every "
        "summer. Kites in Tartu are made of paper."
    )
    ex = _example("When did the kite festival of Tartu begin?", context, "1987")
    pair = maker.answer_removed(ex, random.Random(0))
    assert pair is not None and "1987" not in pair.context
    assert pair.context.startswith("The kite festival draws crowds")
    # the rest says nothing about the question's topic: no pair
    off_topic = _example(
        "When did the kite festival begin?", "It began in 1987. Rain fell.", "1987"
    )
    assert maker.answer_removed(off_topic, random.Random(0)) is None
    # a one-sentence paragraph has nothing left
    assert without_sentences("It began in 1987.", ["1987"], [12]) is None


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
