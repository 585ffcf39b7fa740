"""BM25 search over SQLite FTS5, with the query planned to stay fast at a million passages.

FTS5 scores every passage that holds any query word, so in a large corpus a common
word ("year") would cost a scan of half of it (200 ms at a million passages). The
question's words are ranked by document frequency and the rarest are kept until
their frequencies add up to ``budget``; a word in more passages than that is never
scored. The dropped words are the ones whose BM25 weight (IDF) is smallest, and the
dense retriever sees them all; a question made only of such words is ranked by
dense search alone. In corpora of a few thousand passages every word is kept.

Each table's best hits (``RESCORED_HITS`` at least) are then weighed by the share of the
searched words' IDF they hold (:mod:`rag.core.coverage`): which words a hit holds is
asked of FTS5 itself, one word at a time among the hits, so that the porter stemmer
decides as it does for BM25; the frequencies are the ones the plan counted.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np

from rag.core.coverage import RESCORED_HITS, Hits, rarest, weigh_by_coverage
from rag.core.text import content_words

#: Passages BM25 may score per question (see the module docstring).
LEXICAL_BUDGET = 4000
#: Up to this many selected passages, a filtered search lists them all to SQLite, which
#: checks each match against the list before scoring it; past it, the ids of the matches
#: are read first (the budget bounds them) and only the selected ones are listed.
LISTED_PASSAGES = 2_000
#: Document frequencies remembered for one generation of the index (common words recur
#: in questions, and counting one reads up to ``budget`` postings).
FREQUENCIES_KEPT = 100_000

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
        self._frequencies: dict[tuple[str, str], int] = {}
        self._generation: int | None = None

    def tables(self, collections: tuple[str, ...] | None) -> list[str]:
        """The FTS5 tables of these collections (None: of every collection)."""
        rows = self.db.execute("SELECT collection, name FROM fts_tables ORDER BY name").fetchall()
        return [name for c, name in rows if collections is None or c in collections]

    def search(
        self,
        text: str,
        k: int,
        collections: tuple[str, ...] | None = None,
        allowed: np.ndarray | None = None,
        generation: int | None = None,
    ) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) best first (ties: the smaller id); scores are positive,
        higher is better. ``allowed``: the ascending ids of the chunks a filter selects,
        applied inside the search, so that the ``k`` best of them come back.
        ``generation``: the index's, under which word frequencies may be remembered."""
        if generation != self._generation or len(self._frequencies) > FREQUENCIES_KEPT:
            self._frequencies.clear()
            self._generation = generation
        if allowed is not None and not len(allowed):
            return []
        hits: list[tuple[int, float]] = []
        for table in self.tables(collections):
            hits += self._search_table(table, text, k, allowed)
        hits.sort(key=lambda hit: (-hit[1], hit[0]))
        return hits[:k]

    def _search_table(self, table: str, text: str, k: int, allowed: np.ndarray | None) -> Hits:
        """BM25's best hits in one table, weighed by coverage: each planned word is matched
        among the hits alone (its postings are within the budget), so the check costs no
        more than the search."""
        planned = self.planned(text, table)
        if not planned:
            return []
        query = fts_query(list(planned))
        hits = self._bm25(table, query, max(k, RESCORED_HITS), allowed)
        if not hits:
            return []
        ids = json.dumps([item for item, _ in hits])
        holds: dict[int, list[str]] = {}
        for word in planned:
            rows = self.db.execute(
                f"SELECT rowid FROM {table} WHERE {table} MATCH ?"
                " AND +rowid IN (SELECT value FROM json_each(?))",
                (fts_query([word]), ids),
            )
            for (item,) in rows:
                holds.setdefault(item, []).append(word)
        return weigh_by_coverage(hits, holds, planned, passages(self.db, table))[:k]

    def _bm25(self, table: str, query: str, k: int, allowed: np.ndarray | None) -> Hits:
        """The ``k`` best (id, BM25 score) of ``query`` in ``table`` (of ``allowed``)."""
        select = f"SELECT rowid, bm25({table}) AS s FROM {table} WHERE {table} MATCH ?"
        if allowed is None:
            rows = self.db.execute(f"{select} ORDER BY s, rowid LIMIT ?", (query, k))
            return [(int(r[0]), -float(r[1])) for r in rows]
        if len(allowed) > LISTED_PASSAGES:
            allowed = self._selected_matches(table, query, allowed)
            if not len(allowed):
                return []
        # ``+rowid``: a plain filter on each match, before bm25() scores it. As ``rowid
        # IN``, SQLite would hand FTS5 one rowid lookup per listed id, each a whole MATCH
        # (0.45 s for 10,000 ids)
        rows = self.db.execute(
            f"{select} AND +rowid IN (SELECT value FROM json_each(?)) ORDER BY s, rowid LIMIT ?",
            (query, json.dumps(allowed.tolist()), k),
        )
        return [(int(r[0]), -float(r[1])) for r in rows]

    def _selected_matches(self, table: str, query: str, allowed: np.ndarray) -> np.ndarray:
        """The ids of ``table``'s matches of ``query`` that are ``allowed`` (ascending)."""
        rows = self.db.execute(f"SELECT rowid FROM {table} WHERE {table} MATCH ?", (query,))
        matched = np.fromiter((r[0] for r in rows), dtype=np.int64)
        at = np.minimum(np.searchsorted(allowed, matched), len(allowed) - 1)
        return matched[allowed[at] == matched]

    def query(self, text: str, table: str = DEFAULT_TABLE) -> str:
        """The FTS5 query for ``text``: its rarest content words within the budget."""
        return fts_query(list(self.planned(text, table)))

    def planned(self, text: str, table: str = DEFAULT_TABLE) -> dict[str, int]:
        """The content words of ``text`` searched for, in the question's order, each with
        its document frequency: the rarest, until their frequencies add up to the budget."""
        words = content_words(text)
        return rarest({word: self._frequency(table, word) for word in words}, self.budget)

    def _frequency(self, table: str, word: str) -> int:
        """How many passages of ``table`` hold ``word``, counted only up to the budget:
        FTS5 stops reading the posting list there, so a common word costs no more than a
        rare one. Remembered for the generation the search was given."""
        remember = self._generation is not None
        if remember and (table, word) in self._frequencies:
            return self._frequencies[table, word]
        (df,) = self.db.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH ? LIMIT ?)",
            (fts_query([word]), self.budget + 1),
        ).fetchone()
        if remember:
            self._frequencies[table, word] = df
        return df


def passages(db: sqlite3.Connection, table: str) -> int:
    """How many passages ``table`` indexes, as BM25 counts them: the first varint of FTS5's
    averages record (row 1 of ``<table>_data``), read without a scan; 0 when empty."""
    row = db.execute(f"SELECT block FROM {table}_data WHERE id = 1").fetchone()
    if row is None or not row[0]:
        return 0
    value = 0
    for i, byte in enumerate(bytes(row[0])[:9]):  # SQLite's varint: 7 bits a byte, big-endian
        if i == 8:
            return (value << 8) | byte
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            break
    return value
