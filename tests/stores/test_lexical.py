"""Lexical search weighs what a passage lacks, alike in every store: a passage holding the
question's rare name beats shorter passages of the same template's common words
(rag/core/coverage.py; the Milvus side in rag/stores/milvus/lexical.py)."""

from __future__ import annotations

import pytest

from rag.stores import open_store
from tests.support.stores import DIM, add_text, text_of

BACKENDS = ["sqlite", pytest.param("milvus", marks=pytest.mark.milvus)]
FILLER = [
    "The council reviewed the harbour plan in March.",
    "Volunteers repaired benches along the river path.",
    "The archive moved boxes of records to its new reading room.",
    "The budget for street lighting rose in spring.",
]
FACT = "The Griheinzirk ferry line carried 39,405 passengers in its first season."
QUESTION = "How many passengers did the Griheinzirk ferry line carry in its first season?"


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    opened, _ = open_store(tmp_path, model_id="m", dimension=DIM, backend=request.param)
    yield opened
    opened.close()


def _template_corpus(store) -> None:
    """Five short e-mails about other ferry lines, notes, and one long handbook passage
    that holds the asked-about line among other sentences."""
    for i, name in enumerate(["Neinvestyrk", "Tyluthnor", "Dorkzen", "Bonkynd", "Rausgrym"]):
        line = f"The {name} ferry line carried {i + 1}0,000 passengers in its first season."
        add_text(store, f"Mail {i}\n\n{line}", f"mail{i}", seed=i)
    for i, sentence in enumerate(FILLER):
        add_text(store, f"Notes {i}\n\n{sentence} {FILLER[(i + 1) % 4]}", f"notes{i}", seed=10 + i)
    handbook = " ".join([*FILLER[:3], FACT, FILLER[3]])
    add_text(store, f"Handbook\n\n{handbook}", "handbook", seed=20)


def test_the_passage_with_the_rare_name_beats_short_passages_of_common_words(store):
    """Plain BM25 (length-damped) ranks the short e-mails first: each holds every word
    of the question but the name."""
    _template_corpus(store)
    hits = store.search_lexical(QUESTION, 3)
    assert FACT in text_of(store, hits[0][0])
    assert all(
        text_of(store, i).startswith("The ") and "ferry" in text_of(store, i) for i, _ in hits
    )
    assert hits[0][1] > 1.2 * hits[1][1] > 0
    assert store.search_lexical(QUESTION, 1) == hits[:1], "the first hits do not depend on k"


def test_a_passage_holding_every_word_still_wins_by_bm25(store):
    _template_corpus(store)
    add_text(store, f"Mail 9\n\n{FACT}", "mail9", seed=9)
    first, second = store.search_lexical(QUESTION, 2)
    assert text_of(store, first[0]) == FACT, "shorter, and as complete as the handbook's"
    assert FACT in text_of(store, second[0])


def test_sqlite_reads_the_passage_count_bm25_uses(tmp_path):
    """From FTS5's own averages record (no scan), following adds, replacements, deletes."""
    from rag.stores.sqlite.fts import DEFAULT_TABLE, passages

    opened, _ = open_store(tmp_path, model_id="m", dimension=DIM)
    try:
        _template_corpus(opened)
        assert passages(opened.db, DEFAULT_TABLE) == opened.counts()[1] == 20
        add_text(opened, "Mail 0\n\nReplaced.\n\nTwice.", "mail0", seed=30)
        assert opened.delete("notes1")
        assert passages(opened.db, DEFAULT_TABLE) == opened.counts()[1] == 19
    finally:
        opened.close()


@pytest.mark.milvus
def test_milvus_counts_a_word_again_once_the_partition_changed(tmp_path):
    opened, _ = open_store(tmp_path, model_id="m", dimension=DIM, backend="milvus")
    try:
        _template_corpus(opened)
        opened.search_lexical(QUESTION, 3)
        ((counted, known),) = opened._search.bm25._frequencies.values()
        assert counted == 20 and known["griheinzirk"] == 1 and known["ferry"] == 6
        add_text(opened, f"Mail 9\n\n{FACT}", "mail9", seed=9)
        opened.search_lexical(QUESTION, 3)
        ((counted, known),) = opened._search.bm25._frequencies.values()
        assert counted == 22 and known["griheinzirk"] == 2
    finally:
        opened.close()
