"""Feedback used at once by the service (rag.service.feedback): real models, a real index
of the seeds (one per module: every test leaves the index as it found it, but for its
own feedback, which is all on questions of its own)."""

from __future__ import annotations

import pytest

from rag.core.errors import FeedbackError, UnknownDocumentError
from rag.documents.ingest import make_document
from rag.service.feedback import question_key
from tests.api.seeded import seeded_settings

QUESTION = "Where was Kim invited?"


@pytest.fixture(scope="module")
def pipeline(embedder, reader, tmp_path_factory):
    from rag.service.pipeline import Pipeline

    p = Pipeline(seeded_settings(tmp_path_factory.mktemp("feedback")), reader, embedder)
    p.load()
    assert p.ensure_index() == 3
    yield p
    p.close()


def _span(pipeline, doc_id: str, words: str) -> tuple[int, int]:
    text = pipeline.store.document(doc_id).text
    start = text.index(words)
    return start, start + len(words)


def test_a_correction_answers_the_same_question_at_once_while_its_span_holds(pipeline):
    question = "Which city hosted the financial discussion?"
    doc_id = pipeline.store.documents()[0].doc_id
    start, end = _span(pipeline, doc_id, "Vladivostok")
    stored = pipeline.feedback.record(
        question, "corrected", answer="Moscow", doc_id=doc_id, start=start, end=end
    )
    assert stored.text == "Vladivostok" and stored.key == question_key(question)
    assert stored.created_at and stored.id

    result = pipeline.ask("which city hosted the  financial discussion")  # same key
    assert result.confirmed and result.answer == "Vladivostok" and result.confidence == 1.0
    (source,) = result.answers[0].sources
    assert (source.doc_id, source.answer_start, source.answer_end) == (doc_id, start, end)
    assert source.text[start - source.start : end - source.start] == "Vladivostok"
    assert [a.text for a in result.answers].count("Vladivostok") == 1
    assert not pipeline.ask(QUESTION).confirmed  # another question is untouched


def test_right_confirms_the_answer_and_wrong_withdraws_it(pipeline):
    question = "Who extended the offer?"
    first = pipeline.ask(question)
    source = first.answers[0].sources[0]
    pipeline.feedback.record(
        question,
        "right",
        answer=first.answer,
        doc_id=source.doc_id,
        start=source.answer_start,
        end=source.answer_end,
    )
    confirmed = pipeline.ask(question)
    assert confirmed.confirmed and confirmed.answer == first.answer
    pipeline.feedback.record(question, "wrong", answer=first.answer)
    after = pipeline.ask(question)
    assert not after.confirmed and after.answer != first.answer
    assert first.answer not in [a.text for a in after.answers]


def test_not_in_the_documents_makes_the_service_abstain(pipeline):
    assert pipeline.ask(QUESTION).answer == "Moscow"
    pipeline.feedback.record("where  was Kim invited", "unanswerable", answer="Moscow")
    result = pipeline.ask(QUESTION)
    assert result.answer is None and result.confirmed
    assert result.passages  # the closest passages are still shown


def test_an_edited_or_deleted_document_ends_its_correction(pipeline):
    document = pipeline.store.document(pipeline.store.documents()[1].doc_id)
    copy = make_document("Kim copy\n\n" + document.text, doc_id="kim-copy")
    pipeline.add_document(copy)
    question = "What did Lavrov say to Kim?"
    start, end = _span(pipeline, "kim-copy", "Come to Russia")
    pipeline.feedback.record(question, "corrected", doc_id="kim-copy", start=start, end=end)
    assert pipeline.ask(question).answer == "Come to Russia"
    # new text under the same id: the offsets no longer hold the span
    pipeline.add_document(make_document("Kim copy\n\nX. " + document.text, doc_id="kim-copy"))
    assert not pipeline.ask(question).confirmed
    assert pipeline.delete_document("kim-copy")
    assert [f for f in pipeline.feedback.entries() if f.doc_id == "kim-copy"] == []


@pytest.mark.parametrize(
    ("verdict", "doc", "start", "end", "error", "message"),
    [
        ("maybe", None, None, None, FeedbackError, "verdict must be one of"),
        ("corrected", None, None, None, FeedbackError, "needs doc_id, start and end"),
        ("corrected", "nope", 0, 3, UnknownDocumentError, "no document with id 'nope'"),
        ("corrected", 0, 5, 5, FeedbackError, "0 <= start < end <= "),
        ("right", 0, 0, 10**6, FeedbackError, "the document's length"),
        ("wrong", None, 0, 3, FeedbackError, "start and end need a doc_id"),
    ],
)
def test_bad_feedback_is_refused_and_nothing_is_stored(
    pipeline, verdict, doc, start, end, error, message
):
    before = pipeline.feedback.entries()
    doc_id = pipeline.store.documents()[doc].doc_id if doc == 0 else doc
    with pytest.raises(error, match=message):
        pipeline.feedback.record("Q?", verdict, doc_id=doc_id, start=start, end=end)
    assert pipeline.feedback.entries() == before
