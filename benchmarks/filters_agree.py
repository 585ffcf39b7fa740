"""Random filters in ``python -m benchmarks filters``: each store's ``selected_documents``
against the reference :meth:`rag.core.selection.Selection.admits`.

The filters are those of the store tests (``tests/support/filters.py``: every operator,
``AND``/``OR``/``NOT`` two levels deep, values of every kind, some of the wrong kind for
their field), asked over ``None`` (every collection), ``("hr",)`` and
``("default", "legal")`` in turn, on a corpus of its own whose documents carry the random
metadata of those tests (every kind, missing, null, lists; four collections). It is small
(1,000 documents by default) because both the reference and Milvus evaluate a filter in
Python, document by document (~20 µs each: 0.5 s per filter at 25,000 documents).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from benchmarks.filters_corpus import PASSAGES_PER_DOC, build, fill, open_bench_store
from rag.core.selection import Selection
from tests.support.filters import random_filters

SCOPES = (None, ("hr",), ("default", "legal"))


def agreement(
    stores: tuple[str, ...],
    filters: int,
    documents: int,
    workdir: Path,
    seed: int = 0,
) -> dict:
    """How many of ``filters`` random filters select, on every store, exactly the
    documents the reference admits."""
    corpus, _ = build(documents * PASSAGES_PER_DOC, seed + 1)
    selections = [
        Selection(SCOPES[i % len(SCOPES)], node)
        for i, node in enumerate(random_filters(filters, seed=seed + 11))
    ]
    report: dict = {"documents": len(corpus.documents), "filters": len(selections)}
    expected: list[list[str]] | None = None
    agree = [True] * len(selections)
    for backend in stores:
        folder = workdir / f"agree-{backend}"
        store = open_bench_store(folder, backend)
        fill(store, corpus)  # the documents as stored, with their created_at
        if expected is None:
            expected = _reference(corpus.documents, selections, report)
        t0 = time.perf_counter()
        same = [
            store.selected_documents(selection) == want
            for selection, want in zip(selections, expected, strict=True)
        ]
        report[backend] = {
            "agreements": sum(same),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        agree = [a and s for a, s in zip(agree, same, strict=True)]
        store.close()
        shutil.rmtree(folder, ignore_errors=True)
    report["all_stores_agree"] = sum(agree)
    return report


def _reference(documents: list, selections: list[Selection], report: dict) -> list[list[str]]:
    """What :meth:`Selection.admits` selects of the stored documents (their ``created_at``
    is the first store's; the filters compare it with 2000 and 2100 only)."""
    t0 = time.perf_counter()
    expected = [sorted(d.doc_id for d in documents if s.admits(d)) for s in selections]
    report["reference_s"] = round(time.perf_counter() - t0, 1)
    report["selected_documents_mean"] = round(sum(map(len, expected)) / max(1, len(expected)), 1)
    report["empty_selections"] = sum(not e for e in expected)
    report["every_document_selections"] = sum(len(e) == len(documents) for e in expected)
    return expected
