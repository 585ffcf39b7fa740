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

#: BM25 keeps each collection's own statistics (document frequencies, average length), so
#: that what one collection holds never changes another's scores: every collection has
#: its own FTS5 table over its chunks, named in ``fts_tables`` (the default collection's
#: is ``chunks_fts``, as before collections). The store writes to them with its rows.
SCHEMA = """
CREATE TABLE IF NOT EXISTS fts_tables (collection TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE);
"""
#: Before collections, triggers kept the one table in step with ``chunks``.
OLD_TRIGGERS = ("chunks_ai", "chunks_ad")
DEFAULT_TABLE = "chunks_fts"


def create_table(db: sqlite3.Connection, name: str) -> None:
    db.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING fts5(text, content='chunks',"
        " content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
    )


def table_of(db: sqlite3.Connection, collection: str, create: bool = False) -> str | None:
    """The FTS5 table of a collection (made when ``create``, inside the caller's
    transaction); None when it has none."""
    row = db.execute("SELECT name FROM fts_tables WHERE collection = ?", (collection,)).fetchone()
    if row is not None or not create:
        return row[0] if row else None
    if collection == "default":
        name = DEFAULT_TABLE
    else:
        (n,) = db.execute("SELECT count(*) + 1 FROM fts_tables").fetchone()
        name = f"chunks_fts_{n}"
        while db.execute("SELECT 1 FROM fts_tables WHERE name = ?", (name,)).fetchone():
            n += 1
            name = f"chunks_fts_{n}"
    create_table(db, name)
    db.execute("INSERT INTO fts_tables(collection, name) VALUES (?, ?)", (collection, name))
    return name


def index_chunks(db: sqlite3.Connection, table: str, rows: list[tuple[int, str]]) -> None:
    """Add (chunk id, text) rows to a collection's table."""
    db.executemany(f"INSERT INTO {table}(rowid, text) VALUES (?, ?)", rows)


def unindex_chunks(db: sqlite3.Connection, table: str, rows: list[tuple[int, str]]) -> None:
    """Remove (chunk id, text) rows (FTS5 needs the text it indexed)."""
    db.executemany(f"INSERT INTO {table}({table}, rowid, text) VALUES ('delete', ?, ?)", rows)


def fts_query(words: list[str]) -> str:
    """An FTS5 OR-query of ``words``, each quoted (no FTS syntax from users)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in words)


class LexicalSearch:
    """BM25 over the chunks of one SQLite connection, each collection in its own table
    (the caller holds its lock)."""

    def __init__(self, db: sqlite3.Connection, budget: int = LEXICAL_BUDGET) -> None:
        self.db = db
        self.budget = budget

    def tables(self, collections: tuple[str, ...] | None) -> list[str]:
        """The FTS5 tables of these collections (None: of every collection)."""
        rows = self.db.execute("SELECT collection, name FROM fts_tables ORDER BY name").fetchall()
        return [name for c, name in rows if collections is None or c in collections]

    def search(
        self,
        text: str,
        k: int,
        collections: tuple[str, ...] | None = None,
        restrict: tuple[str, list] | None = None,
    ) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) best first; scores are positive, higher is better.
        ``restrict``: SQL selecting the chunk ids allowed (a filter), applied inside the
        search, so that the ``k`` best of the allowed chunks come back."""
        hits: list[tuple[int, float]] = []
        for table in self.tables(collections):
            hits += self._search_table(table, text, k, restrict)
        hits.sort(key=lambda hit: (-hit[1], hit[0]))
        return hits[:k]

    def _search_table(
        self, table: str, text: str, k: int, restrict: tuple[str, list] | None
    ) -> list[tuple[int, float]]:
        query = self.query(text, table)
        if not query:
            return []
        allowed, params = (f" AND rowid IN ({restrict[0]})", restrict[1]) if restrict else ("", [])
        rows = self.db.execute(
            f"SELECT rowid, bm25({table}) AS s FROM {table} WHERE {table} MATCH ?{allowed}"
            " ORDER BY s LIMIT ?",
            (query, *params, k),
        ).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def query(self, text: str, table: str = DEFAULT_TABLE) -> str:
        """The FTS5 query for ``text``: its rarest content words within the budget."""
        words = content_words(text)
        cap = self.budget + 1
        # document frequency of each word, counted only up to the budget: FTS5 stops
        # reading a word's posting list there, so a common word costs no more than a rare one
        ranked = []
        for i, word in enumerate(words):
            (df,) = self.db.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH ? LIMIT ?)",
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
