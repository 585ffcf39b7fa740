"""`rag feedback list` and `rag feedback export`, run by their entry point in this process
(``rag_here``: the output and exit status of a child process, without starting one) over an
index of the seeds whose feedback was given through the service."""

from __future__ import annotations

import json
import random

import pytest

from rag.evaluation import squad
from rag.training.negatives import ANSWER, UNANSWERABLE, Shares, make_pairs
from tests.support.cli import rag_here

pytestmark = pytest.mark.model


def test_feedback_is_listed_and_exported_as_squad_v2_with_offsets_into_passages(seeded, tmp_path):
    store = seeded.store
    doc_id = store.documents()[0].doc_id
    text = store.document(doc_id).text
    start = text.index("Vladivostok")
    book = seeded.feedback
    book.record("Where is the forum held?", "corrected", doc_id=doc_id, start=start, end=start + 11)
    book.record("Who moderated the talks?", "unanswerable", answer="Lavrov")  # no passage
    cited = store.document_chunks(doc_id)[0]
    book.record(
        "What did Peskov eat?", "unanswerable", doc_id=doc_id, start=cited.start, end=cited.end
    )
    book.record("Who went?", "right", doc_id=doc_id, start=start, end=start + 11)
    book.record("Who went?", "wrong", answer="Vladivostok")  # withdrawn: not exported
    seeded.close()
    env = {
        "RAG_DOCS_DIR": str(seeded.settings.docs_dir),
        "RAG_INDEX_DIR": str(seeded.settings.index_dir),
    }

    listed = rag_here("feedback", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    verdicts = [f["verdict"] for f in json.loads(listed.stdout)["feedback"]]
    assert verdicts == ["corrected", "unanswerable", "unanswerable", "right", "wrong"]

    out = tmp_path / "feedback.json"
    done = rag_here("feedback", "export", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["questions"] == 3
    data = json.loads(out.read_text())
    assert data["version"] == "v2.0"
    qas = {
        qa["question"]: (paragraph["context"], qa)
        for article in data["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    }
    assert set(qas) == {
        "Where is the forum held?",
        "Who moderated the talks?",
        "What did Peskov eat?",
    }
    context, qa = qas["Where is the forum held?"]
    (answer,) = qa["answers"]
    assert context[answer["answer_start"] :].startswith("Vladivostok") and not qa["is_impossible"]
    assert context in text  # a stored passage of the document
    assert (
        qas["What did Peskov eat?"][0] == cited.text
        and qas["What did Peskov eat?"][1]["is_impossible"]
    )
    assert qas["Who moderated the talks?"][1]["is_impossible"]  # over the best passage

    examples = squad.load([out])  # what train-reader reads, and the pairs it makes
    pairs = make_pairs(examples, Shares(*[0.0] * 6), random.Random(0))
    assert sorted(p.kind for p in pairs) == [ANSWER, UNANSWERABLE, UNANSWERABLE]
    (found,) = [p for p in pairs if p.kind == ANSWER]
    assert [found.context[a:b] for a, b in found.spans] == ["Vladivostok"]
