"""Users' feedback as training data: ``rag feedback export OUT.json`` writes SQuAD v2.0,
which ``rag train-reader --init rag/models/reader OUT.json`` fine-tunes on.

Each question with feedback gives one example, as the service would use it now
(:meth:`rag.service.feedback.FeedbackBook.decide`: the newest verdict that still holds):

* a confirmed (``right``) or ``corrected`` span: the stored passage that holds it is the
  context, and ``answer_start`` counts from that passage's start;
* "not in the documents" (``unanswerable``): ``is_impossible`` over the passage the
  answer cited (stored with the verdict), or, where it is gone or was never given, the
  passage retrieval ranks first for the question: the reader learns to abstain on the
  very passage that misled it.

A document is an article (its id its title), so that ``train-reader`` holds out whole
documents for validation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from rag.core.types import Feedback
from rag.service.feedback import FeedbackBook, holds
from rag.stores.base import DocumentStore

#: (text, doc_id) of the passage retrieval ranks first for a question (None: no passage).
Search = Callable[[str], tuple[str, str] | None]


def feedback_examples(store: DocumentStore, search: Search) -> list[dict]:
    """One SQuAD-like row per question with feedback that decides something:
    ``{id, question, context, article, answers, is_impossible}``."""
    book = FeedbackBook(store, threshold=1.0)
    latest: dict[str, Feedback] = {}
    for feedback in store.feedback():
        latest[feedback.key] = feedback  # oldest first: the newest wording wins
    rows = []
    for feedback in latest.values():
        decided = book.decide(feedback.resolved_question).feedback
        if decided is None:
            continue
        question = decided.resolved_question
        if decided.verdict == "unanswerable":
            passage = _passage_of(store, decided) or search(question)
            if passage is not None:
                rows.append(_row(decided, question, *passage, answers=[]))
            continue
        document = store.document(decided.doc_id)
        chunk = book.passage_of(decided, document)
        answer = {"text": decided.text, "answer_start": decided.start - chunk.start}
        rows.append(_row(decided, question, chunk.text, chunk.doc_id, answers=[answer]))
    return rows


def _passage_of(store: DocumentStore, feedback: Feedback) -> tuple[str, str] | None:
    """(text, doc_id) of the passage an "unanswerable" verdict was given over, if its
    document still holds it."""
    if feedback.doc_id is None:
        return None
    document = store.document(feedback.doc_id)
    if document is None or not holds(document, feedback):
        return None
    return feedback.text, feedback.doc_id


def _row(
    feedback: Feedback, question: str, context: str, doc_id: str, *, answers: list[dict]
) -> dict:
    return {
        "id": feedback.id,
        "question": question,
        "context": context,
        "article": doc_id,
        "answers": answers,
        "is_impossible": not answers,
    }


def squad_v2(rows: list[dict]) -> dict:
    """Rows as a SQuAD v2.0 file: articles, their paragraphs (one per passage), their
    questions."""
    articles: dict[str, dict[str, dict]] = {}
    for row in rows:
        paragraphs = articles.setdefault(row["article"], {})
        paragraph = paragraphs.setdefault(row["context"], {"context": row["context"], "qas": []})
        qa = {k: row[k] for k in ("id", "question", "answers", "is_impossible")}
        if row["is_impossible"]:
            qa["plausible_answers"] = []
        paragraph["qas"].append(qa)
    data = [
        {"title": title, "paragraphs": list(paragraphs.values())}
        for title, paragraphs in articles.items()
    ]
    return {"version": "v2.0", "data": data}


def export_feedback(store: DocumentStore, search: Search, out: Path) -> dict[str, int]:
    """Write the feedback as SQuAD v2.0 JSON to ``out``; how many of each kind."""
    rows = feedback_examples(store, search)
    text = json.dumps(squad_v2(rows), ensure_ascii=False, indent=1)
    tmp = Path(out).with_name(Path(out).name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)  # a file that is there is whole
    impossible = sum(r["is_impossible"] for r in rows)
    answerable = len(rows) - impossible
    return {"questions": len(rows), "answerable": answerable, "unanswerable": impossible}
