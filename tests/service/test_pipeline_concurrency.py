"""The service under concurrent use, on the seeded pipeline with real models: questions
that arrive together are answered together, a question does not wait for a large upload
to be embedded, and FAISS leaves torch its threads."""

import json
import threading
import time

import pytest

from rag.documents.ingest import make_document
from tests.support.paths import FIXTURES

SEED_QUESTIONS = json.loads((FIXTURES / "seed_questions.json").read_text())


@pytest.mark.model
def test_concurrent_questions_are_answered_together_with_the_same_results(seeded):
    from rag.core import compute

    questions = [c["question"] for c in SEED_QUESTIONS["answerable"]] + SEED_QUESTIONS[
        "unanswerable"
    ]
    alone = {q: seeded.ask(q) for q in questions}
    sizes = []
    real = seeded.answerer.run

    def spy(items):
        sizes.append(len(items))
        return real(items)

    seeded.answerer.run = spy
    compute.submit(time.sleep, 0.5)  # keep the compute thread busy while questions queue
    together: dict = {}
    threads = [
        threading.Thread(target=lambda q=q: together.__setitem__(q, seeded.ask(q)))
        for q in questions
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(sizes) > 1, "questions that arrived together were answered together"
    for q in questions:
        assert together[q].answer == alone[q].answer
        assert together[q].confidence == pytest.approx(alone[q].confidence, abs=0.02)
        assert [p.doc_id for p in together[q].passages] == [p.doc_id for p in alone[q].passages]


@pytest.mark.model
def test_a_question_is_answered_while_a_large_document_is_indexed(seeded):
    paragraph = (
        "The harbour of Velmor was rebuilt after the storm of the previous winter. "
        "Fishermen returned to the quays, and the market reopened on the square. "
    )
    # 100 passages embedded 16 at a time: asked after the first 16, the question waits
    # for one slice, and 5 are left (seeded.add_document, with progress)
    text = "Velmor chronicle\n\n" + "\n\n".join(f"Part {i}. " + paragraph * 6 for i in range(75))
    document, embedding = make_document(text, title="Velmor chronicle"), threading.Event()
    progress = {"progress": lambda done, total: done and embedding.set()}
    indexing = threading.Thread(
        target=seeded.indexer.add_documents, args=([document],), kwargs=progress
    )
    indexing.start()
    assert embedding.wait(120), "the upload is embedding now"
    result = seeded.ask("Where was Kim invited?")
    still_indexing = indexing.is_alive()
    indexing.join()
    assert result.answer == "Moscow"
    assert still_indexing, "the question did not wait for the whole document"
    assert seeded.store.document(seeded.store.documents()[-1].doc_id).title == "Velmor chronicle"


@pytest.mark.model
def test_faiss_single_threading_leaves_torch_its_threads(seeded):
    """FAISS and torch can share one OpenMP runtime (torch imported first, as here): the
    FAISS setting must not make the reader single-threaded (40 → 60 ms a question)."""
    import os

    import torch

    from rag.core import compute

    threads = compute.compute(torch.get_num_threads)
    assert threads > 1 or (os.cpu_count() or 1) == 1
