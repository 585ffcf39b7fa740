import json
import random

import pytest

from rag.evaluation import squad
from rag.training.mining import first_without_answer, mine, mined_negatives, save
from rag.training.negatives import RETRIEVED, NegativeMaker, Shares, make_pairs
from tests.support.paths import FIXTURES

MINI = FIXTURES / "mini_squad.json"


def test_the_first_passage_of_another_paragraph_without_the_answer_is_kept():
    passages = [
        ("a#0", "Maret Kask founded it."),  # the question's own paragraph
        ("a#1", "Maret Kask also flew kites."),  # holds the answer
        ("b#0", "The Quillon bridge crosses the river."),
        ("b#1", "Kites must be made of paper."),
    ]
    chosen = first_without_answer(passages, "a#0", ["Maret Kask", "Kask"])
    assert chosen == "The Quillon bridge crosses the river."
    # SQuAD normalisation: case, punctuation and articles do not hide an answer
    assert first_without_answer([("b#0", "THE maret kask!")], "a#0", ["Maret Kask"]) is None


@pytest.mark.model
def test_mining_runs_the_real_retriever_and_never_returns_the_answer(tmp_path):
    examples = squad.load([MINI])
    mined = mine(examples, progress=False)
    assert mined, "three paragraphs: every question has another one to be wrong in"
    by_id = {e.id: e for e in examples}
    for qid, text in mined.items():
        ex = by_id[qid]
        assert text.strip() not in ex.context
        norm = squad.normalize_answer(text)
        assert not any(squad.normalize_answer(a) in norm for a in ex.answers)
    # "Which river does the Quillon bridge cross?": its own paragraph is the only one about
    # the bridge, so the best of the rest is a festival paragraph
    assert "Quillon" not in mined["q1"]


def test_mined_negatives_are_kept_in_a_file_and_reused(tmp_path):
    examples = squad.load([MINI])
    cache = tmp_path / "retrieved-negatives.json"
    first = mined_negatives(examples, cache)
    saved = json.loads(cache.read_text())
    assert saved["negatives"] == first and saved["questions"] == len(examples)
    # a resumed run reads the file instead of mining again
    saved["negatives"] = {"z1": "A marker passage."}
    cache.write_text(json.dumps(saved))
    assert mined_negatives(examples, cache) == {"z1": "A marker passage."}
    # ... but not a file mined for other questions
    assert mined_negatives(examples[:3], cache) != {"z1": "A marker passage."}


def test_a_retrieved_pair_has_no_answer_and_only_when_mined():
    examples = squad.load([MINI])
    maker = NegativeMaker(examples, {"z2": "The Quillon bridge crosses the river Aramo."})
    pairs = make_pairs(examples, Shares(other_paragraph=0, retrieved=1.0), random.Random(1), maker)
    retrieved = [p for p in pairs if p.kind == RETRIEVED]
    assert [(p.question, p.spans) for p in retrieved] == [(by_question(examples, "z2"), [])]


def by_question(examples, qid):
    return next(e.question for e in examples if e.id == qid)


def test_negatives_saved_for_a_sample_are_reused_for_that_sample(tmp_path):
    examples = squad.load([MINI])
    cache = tmp_path / "sample" / "retrieved-negatives.json"
    save(cache, examples[:3], {"z1": "A full run's passage."})
    assert mined_negatives(examples[:3], cache) == {"z1": "A full run's passage."}
    assert not list(cache.parent.glob("*.tmp"))


def test_an_earlier_stage_s_negatives_are_reused_and_copied(tmp_path):
    examples = squad.load([MINI])
    earlier = tmp_path / "stage-3" / "retrieved-negatives.json"
    save(earlier, examples, {"z1": "Stage 3's passage."})
    other = tmp_path / "stage-2" / "retrieved-negatives.json"
    save(other, examples[:3], {"z1": "Mined for other questions."})
    cache = tmp_path / "stage-4" / "retrieved-negatives.json"
    assert mined_negatives(examples, cache, reuse=[other, earlier]) == {"z1": "Stage 3's passage."}
    # copied: the stage's folder resumes without the earlier one
    earlier.unlink()
    assert mined_negatives(examples, cache) == {"z1": "Stage 3's passage."}
