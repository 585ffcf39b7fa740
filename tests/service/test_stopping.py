"""Writes under way when the service is told to stop (issue 37, item 5): they end within a
slice of embedding, with ShuttingDown, and leave nothing stored; later writes are refused."""

from __future__ import annotations

import threading
import time

import pytest

from rag.core.errors import ShuttingDown
from rag.documents.ingest import make_document
from tests.support.texts import many_sentences

pytestmark = pytest.mark.model


def test_stop_writes_ends_an_embedding_under_way_and_stores_nothing(seeded):
    # split here (under the worker threshold) in well under a second, then about 140
    # passages to embed: nine slices, some seconds
    document = make_document(many_sentences(90_000), title="Minutes")
    outcome: list[BaseException] = []

    def add() -> None:
        try:
            seeded.add_document(document)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=add)
    thread.start()
    time.sleep(1.5)
    assert thread.is_alive(), "still embedding"
    started = time.perf_counter()
    seeded.stop_writes()
    thread.join(10)
    took = time.perf_counter() - started
    assert [type(e) for e in outcome] == [ShuttingDown]
    assert took < 3, f"one slice at most, {took:.1f} s"
    assert [d.title for d in seeded.store.documents() if d.title == "Minutes"] == []
    with pytest.raises(ShuttingDown):
        seeded.add_document(make_document("Owls\n\nOwls nest on the tundra."))
    assert seeded.store.counts()[0] == 3
