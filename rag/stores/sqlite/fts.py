"""BM25 search over SQLite FTS5, with the query planned to stay fast at a million passages.

FTS5 scores every passage that holds any query word, so in a large corpus a common
word ("year") would cost a scan of half of it (200 ms at a million passages). The
question's words are ranked by document frequency and the rarest are kept until
their frequencies add up to ``budget``; a word in more passages than that is never
scored. The dropped words are the ones whose BM25 weight (IDF) is smallest, and the
dense retriever sees them all; a question made only of such words is ranked by
dense search alone. In corpora of a few thousand passages every word is kept.
"""

from __future__ import annotations

import sqlite3

from rag.core.text import content_words

#: Passages BM25 may score per question (see the module docstring).
LEXICAL_BUDGET = 4000

#: The FTS5 table over chunk texts, kept in step with ``chunks`` by triggers.
SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""


def fts_query(words: list[str]) -> str:
    """An FTS5 OR-query of ``words``, each quoted (no FTS syntax from users)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in words)


class LexicalSearch:
    """BM25 over the chunks of one SQLite connection (the caller holds its lock)."""

    def __init__(self, db: sqlite3.Connection, budget: int = LEXICAL_BUDGET) -> None:
        self.db = db
        self.budget = budget

    def search(self, text: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) best first; scores are positive, higher is better."""
        query = self.query(text)
        if not query:
            return []
        rows = self.db.execute(
            "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ?"
            " ORDER BY s LIMIT ?",
            (query, k),
        ).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def query(self, text: str) -> str:
        """The FTS5 query for ``text``: its rarest content words within the budget."""
        words = content_words(text)
        cap = self.budget + 1
        # document frequency of each word, counted only up to the budget: FTS5 stops
        # reading a word's posting list there, so a common word costs no more than a rare one
        ranked = []
        for i, word in enumerate(words):
            (df,) = self.db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?)",
                (fts_query([word]), cap),
            ).fetchone()
            if 0 < df <= self.budget:
                ranked.append((df, i))
        chosen, total = [], 0
        for df, i in sorted(ranked):
            if total + df > self.budget:
                break
            chosen.append(i)
            total += df
        return fts_query([words[i] for i in sorted(chosen)])
