"""``rag migrate``'s copy (:func:`rag.stores.transfer.copy_index`), each way between the
two stores: documents, passages, vectors and the feedback arrive, and a second copy adds
nothing. (The command itself: tests/cli/test_service.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from rag.core.types import Feedback
from rag.stores import open_store
from rag.stores.transfer import copy_index
from tests.support.stores import DIM, add_text

pytestmark = pytest.mark.milvus


def _verdict(n: int, doc_id: str | None, verdict: str = "right") -> Feedback:
    span = {"start": 0, "end": 5, "text": "Kites"} if doc_id else {}
    return Feedback(f"q{n}?", f"q{n}?", "Kites" if doc_id else None, verdict, doc_id,
                    key=f"q{n}", created_at=f"2026-12-07T00:00:0{n}+00:00", id=f"f{n}",
                    **span)  # fmt: skip


@pytest.mark.parametrize("way", [("sqlite", "milvus"), ("milvus", "sqlite")])
def test_a_copy_carries_documents_vectors_and_feedback_once(tmp_path, way):
    source, _ = open_store(tmp_path / "a", model_id="m", dimension=DIM, backend=way[0])
    target, _ = open_store(tmp_path / "b", model_id="m", dimension=DIM, backend=way[1])
    try:
        _, _, vectors = add_text(source, "Kites\n\nKites fly high.\n\nOver Lake Peipsi.", "k")
        add_text(source, "Gulls\n\nGulls nest on roofs.", "g", seed=1, collection="birds")
        verdicts = [_verdict(1, "k"), _verdict(2, None, "unanswerable")]
        for verdict in verdicts:
            source.add_feedback(verdict)
        copied = copy_index(source, target)
        assert (copied.documents, copied.passages, copied.feedback) == (2, 5, 2)
        assert target.counts() == (2, 5) and target.collections().keys() == {"default", "birds"}
        assert target.document("k") == source.document("k")
        hit, score = target.search_dense(vectors[2], 1)[0]
        assert target.chunks([hit])[hit][0].text == "Over Lake Peipsi."
        assert score == pytest.approx(1.0, abs=1e-5) and np.isfinite(score)
        assert target.feedback() == verdicts
        again = copy_index(source, target)
        assert (again.documents, again.passages, again.feedback) == (0, 0, 0)
        assert target.counts() == (2, 5) and target.feedback() == verdicts
    finally:
        source.close()
        target.close()
