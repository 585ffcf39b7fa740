import json

import pytest

from rag.core.types import Chunk, Passage
from rag.documents.ingest import make_document
from rag.evaluation.squad import normalize_answer
from rag.reading.base import Span
from rag.reading.merging import merge_answers
from rag.service.pipeline import QuestionError
from tests.support.paths import FIXTURES

SEED_QUESTIONS = json.loads((FIXTURES / "seed_questions.json").read_text())


def _passage(doc: str, start: int, text: str) -> Passage:
    return Passage(Chunk(doc, 0, start, start + len(text), text), title=doc, score=0.5)


def test_merge_equal_texts_across_documents_into_one_answer():
    passages = [
        _passage("a", 0, "to Moscow now"),
        _passage("b", 10, "Moscow hopes"),
        _passage("c", 0, "Lavrov went"),
    ]
    spans = [
        Span(0, 3, 9, "Moscow", 0.5),
        Span(1, 0, 6, "Moscow", 0.4),
        Span(2, 0, 6, "Lavrov", 0.6),
    ]
    answers = merge_answers(spans, passages)
    assert [a.text for a in answers] == ["Moscow", "Lavrov"]
    moscow = answers[0]
    assert moscow.confidence == pytest.approx(1 - 0.5 * 0.6)
    assert [(s.doc_id, s.answer_start, s.answer_end) for s in moscow.sources] == [
        ("a", 3, 9),
        ("b", 10, 16),
    ]


def test_overlapping_spans_of_one_document_merge_without_double_counting():
    # two overlapping passages of the same document cite the same words
    passages = [_passage("a", 0, "Kim went to Moscow city"), _passage("a", 12, "Moscow city")]
    spans = [Span(0, 12, 23, "Moscow city", 0.6), Span(1, 0, 6, "Moscow", 0.2)]
    (answer,) = merge_answers(spans, passages)
    assert answer.text == "Moscow city"
    assert answer.confidence == pytest.approx(0.6)
    assert len(answer.sources) == 2


@pytest.mark.model
def test_seed_question_answers_moscow_citing_two_articles(seeded):
    result = seeded.ask("Where was Kim invited?")
    assert result.answer == "Moscow"
    assert 0 < result.confidence <= 1
    assert result.reader == seeded.health()["reader"] == "fast", "the reader is named"
    sources = result.answers[0].sources
    assert len({s.doc_id for s in sources}) >= 2
    for s in sources:
        text = seeded.store.document(s.doc_id).text
        assert text[s.start : s.end] == s.text
        assert text[s.answer_start : s.answer_end] == "Moscow"
    cited = [p for p in result.passages if p.answer_start is not None]
    assert len(cited) >= 2


@pytest.mark.model
@pytest.mark.parametrize("case", SEED_QUESTIONS["answerable"], ids=lambda c: c["question"])
def test_seed_questions_are_answered_exactly(seeded, case):
    result = seeded.ask(case["question"])
    assert result.answer is not None
    assert normalize_answer(result.answer) in {normalize_answer(a) for a in case["answers"]}


@pytest.mark.model
@pytest.mark.parametrize("question", SEED_QUESTIONS["unanswerable"])
def test_questions_the_articles_do_not_answer_abstain(seeded, question):
    result = seeded.ask(question)
    assert result.answer is None
    assert result.passages, "the closest passages are still returned"


@pytest.mark.model
def test_added_document_is_answerable_at_once_and_deleted_one_is_gone(seeded):
    doc, created = seeded.add_document(
        make_document(
            "Zorblax festival\n\nThe Zorblax festival of kites is held every spring in Tartu, "
            "a university town in Estonia. It was founded by Maret Kask in 1987.",
        )
    )
    assert created
    result = seeded.ask("Where is the Zorblax festival held?")
    assert result.answer is not None and result.answer.startswith("Tartu")
    assert result.answers[0].sources[0].doc_id == doc.doc_id
    assert seeded.delete_document(doc.doc_id)
    after = seeded.ask("Where is the Zorblax festival held?")
    assert all(p.doc_id != doc.doc_id for p in after.passages)
    assert not (after.answer or "").startswith("Tartu")


@pytest.mark.model
def test_index_survives_a_restart(settings, seeded, make_pipeline):
    before = seeded.ask("Where was Kim invited?")
    counts = seeded.store.counts()
    seeded.close()
    again = make_pipeline(settings)
    assert again.ensure_index() == 0, "nothing is re-indexed on the second start"
    assert again.store.counts() == counts
    assert again.ask("Where was Kim invited?").answer == before.answer


@pytest.mark.model
def test_a_repaired_index_is_reported_in_the_log(settings, seeded, make_pipeline, caplog):
    from rag.stores.sqlite.vector_file import FAISS_NAME

    seeded.close()
    (settings.index_dir / FAISS_NAME).unlink()  # derived data lost, SQLite intact
    with caplog.at_level("WARNING", logger="rag.service.pipeline"):
        again = make_pipeline(settings)
    assert any("repaired" in r.getMessage() and "rebuilt" in r.getMessage() for r in caplog.records)
    assert again.ask("Where was Kim invited?").answer == "Moscow"
    health = again.health()
    assert health["status"] == "degraded" and "repaired on start" in health["problems"][0]


@pytest.mark.model
def test_bad_questions_are_refused(seeded):
    with pytest.raises(QuestionError):
        seeded.ask("   \n\t ")
    with pytest.raises(QuestionError):
        seeded.ask("x" * 5000)
    result = seeded.ask("Where\x00 was\x1b Kim invited?\x7f")
    assert result.passages


def test_an_answer_cites_its_strongest_passages_and_alternatives_are_few():
    """Each citation carries its whole passage: 50 passages each giving the answer and
    an alternative of their own made a body of every passage twice over (issue 32)."""
    from rag.reading.merging import MAX_ANSWERS, MAX_SOURCES

    passages = [_passage(f"d{i}", 0, f"Moscow or Town{i}") for i in range(50)]
    spans = [Span(i, 0, 6, "Moscow", 0.1 + i / 100) for i in range(50)]
    spans += [Span(i, 10, 10 + len(f"Town{i}"), f"Town{i}", 0.05) for i in range(50)]
    answers = merge_answers(spans, passages)
    assert len(answers) == MAX_ANSWERS and answers[0].text == "Moscow"
    assert [s.doc_id for s in answers[0].sources] == ["d49", "d48", "d47", "d46", "d45"]
    assert all(len(a.sources) <= MAX_SOURCES for a in answers)
    assert answers[0].confidence > 0.999, "the evidence of all 50 passages counts"


def test_hyphenated_spellings_are_one_answer():
    passages = [_passage("a", 0, "Ri Yong-ho said"), _passage("b", 0, "Ri Yong Ho said")]
    spans = [Span(0, 0, 10, "Ri Yong-ho", 0.5), Span(1, 0, 10, "Ri Yong Ho", 0.5)]
    (answer,) = merge_answers(spans, passages)
    assert answer.confidence == pytest.approx(0.75) and len(answer.sources) == 2


def test_retrieval_score_weighs_the_evidence():
    good = Passage(Chunk("a", 0, 0, 12, "Kim to Tartu"), title="a", score=1.0)
    off = Passage(Chunk("b", 0, 0, 12, "Kim to Narva"), title="b", score=0.5)
    spans = [Span(0, 7, 12, "Tartu", 0.6), Span(1, 7, 12, "Narva", 0.9)]
    assert merge_answers(spans, [good, off])[0].text == "Narva"
    weighted = merge_answers(spans, [good, off], retrieval_weight=3.0)
    assert [a.text for a in weighted] == ["Tartu", "Narva"]
    assert weighted[1].confidence == pytest.approx(0.9 * 0.5**3)


def test_an_answer_inside_another_is_the_same_answer():
    passages = [_passage("a", 0, "to visit Moscow"), _passage("b", 0, "Moscow")]
    spans = [Span(0, 3, 15, "visit Moscow", 0.6), Span(1, 0, 6, "Moscow", 0.2)]
    (answer,) = merge_answers(spans, passages)
    assert answer.text == "visit Moscow" and len(answer.sources) == 2
    brief = merge_answers([spans[0], Span(1, 0, 6, "Moscow", 0.5)], passages)[0]
    assert brief.text == "Moscow", "nearly as sure (0.5 >= 0.5 x 0.6): the brief one names it"
    narrowed = merge_answers(
        [Span(0, 3, 15, "visit Moscow", 0.4), Span(1, 0, 6, "Moscow", 0.5)], passages
    )[0]
    assert narrowed.text == "Moscow"
    assert [(s.answer_start, s.answer_end) for s in narrowed.sources] == [(0, 6), (9, 15)]
    other = merge_answers(
        [Span(0, 3, 15, "visit Moscow", 0.6), Span(1, 0, 3, "Mos", 0.5)],
        [passages[0], _passage("b", 0, "Mos")],
    )
    assert len(other) == 2, "a shared prefix of letters is not a shared word"


@pytest.mark.model
def test_reading_focus_windows_keeps_exact_offsets(settings, make_pipeline):
    """With RAG_READ_WORDS the reader sees a window; answers still point into documents."""
    pipeline = make_pipeline(settings.model_copy(update={"read_words": 40}))
    pipeline.ensure_index()
    result = pipeline.ask("Where was Kim invited?")
    assert result.answer == "Moscow"
    for s in result.answers[0].sources:
        text = pipeline.store.document(s.doc_id).text
        assert text[s.answer_start : s.answer_end] == "Moscow"
        assert s.start <= s.answer_start < s.answer_end <= s.end
    assert set(result.timings_ms) >= {"embed", "dense", "lexical", "fetch", "read", "merge"}


def test_a_brief_answer_nearly_as_sure_names_the_group():
    long = _passage("a", 0, "They sat across a table from Kim in Pyongyang.")
    short = _passage("b", 0, "Lavrov was in Pyongyang.")
    spans = [
        Span(0, 9, 45, "across a table from Kim in Pyongyang", 0.95),
        Span(1, 14, 23, "Pyongyang", 0.90),
    ]
    (answer,) = merge_answers(spans, [long, short])
    assert answer.text == "Pyongyang"
    assert {(c.doc_id, c.answer_start, c.answer_end) for c in answer.sources} == {
        ("a", 36, 45),
        ("b", 14, 23),
    }


@pytest.mark.model
@pytest.mark.milvus
def test_the_service_on_milvus_lite(settings, make_pipeline):
    """RAG_STORE=milvus: seeds answered with exact citations, add, delete, restart."""
    on_milvus = settings.model_copy(update={"store": "milvus"})
    pipeline = make_pipeline(on_milvus)
    assert pipeline.ensure_index() == 3
    assert pipeline.health()["store"] == "milvus" and pipeline.health()["status"] == "ok"
    result = pipeline.ask("Where was Kim invited?")
    assert result.answer == "Moscow"
    for c in result.answers[0].sources:
        text = pipeline.store.document(c.doc_id).text
        assert text[c.start : c.end] == c.text
        assert text[c.answer_start : c.answer_end] == "Moscow"
    doc, created = pipeline.add_document(
        make_document("The Zorblax kite festival is held every spring in Tartu.")
    )
    assert created and pipeline.ask("Where is the Zorblax kite festival held?").answer.startswith(
        "Tartu"
    )
    _, again = pipeline.add_document(
        make_document("The Zorblax kite festival is held every spring in Tartu.")
    )
    assert not again, "the same content is stored once"
    assert pipeline.delete_document(doc.doc_id)
    counts = pipeline.store.counts()
    pipeline.close()
    reopened = make_pipeline(on_milvus)
    assert reopened.store.counts() == counts == (3, counts[1])
    assert reopened.ask("Where was Kim invited?").answer == "Moscow"
