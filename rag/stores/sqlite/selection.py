"""Collections and filters in SQLite: each document's typed field values in a table of their
own, and a selection compiled to SQL over it, resolved before anything is ranked.

Every filterable value of a document (:func:`rag.core.selection.field_rows`: its id, title,
source, collection, ``created_at`` and each ``meta`` value, one row per list element)
is a row ``(doc_id, field, kind, num, txt)``: numbers, booleans (0/1) and dates (UTC epoch
seconds) in ``num``, strings in ``txt``. A comparison is then an indexed lookup of the
documents holding a value of the same kind that satisfies it, which is the written
semantics exactly (a missing, null or other-kind value has no such row), and its cost
follows the number of documents it matches, not the size of the corpus. ``!=`` and
``not in`` are the complements of ``==`` and ``in``; ``NOT`` negates the AND of its
conditions.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from rag.core.filters import Comparison, Filter, Logic
from rag.core.selection import Selection, field_rows
from rag.core.types import Document
from rag.stores.base import UNOFFERED_FIELDS, distinct_values

SCHEMA = """
CREATE TABLE IF NOT EXISTS fields (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    kind TEXT NOT NULL,
    num REAL,
    txt TEXT
);
CREATE INDEX IF NOT EXISTS fields_num ON fields(field, kind, num, doc_id);
CREATE INDEX IF NOT EXISTS fields_txt ON fields(field, kind, txt, doc_id);
CREATE INDEX IF NOT EXISTS fields_doc ON fields(doc_id);
"""

_SQL_OPERATOR = {"==": "=", "in": "=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


def insert_fields(db: sqlite3.Connection, document: Document) -> None:
    """Index a stored document's filterable values (inside the caller's transaction)."""
    db.executemany(
        "INSERT INTO fields(doc_id, field, kind, num, txt) VALUES (?, ?, ?, ?, ?)",
        [
            (
                document.doc_id,
                field,
                kind,
                None if kind == "str" else float(value),
                _txt(kind, value),
            )
            for field, kind, value in field_rows(document)
        ],
    )


def _txt(kind: str, value: object) -> str | None:
    return value if kind == "str" else None


def where(selection: Selection) -> tuple[str, list]:
    """SQL over ``documents d`` that holds for the selected documents, and its parameters."""
    parts: list[str] = []
    params: list = []
    if selection.collections is not None:
        marks = ",".join("?" * len(selection.collections))
        parts.append(f"d.collection IN ({marks})")
        params += list(selection.collections)
    if selection.filter is not None:
        sql, args = compile_filter(selection.filter)
        parts.append(sql)
        params += args
    return (" AND ".join(parts) if parts else "1"), params


def compile_filter(node: Filter) -> tuple[str, list]:
    """A filter as a condition on ``d.doc_id``."""
    if isinstance(node, Logic):
        compiled = [compile_filter(c) for c in node.conditions]
        params = [p for _, args in compiled for p in args]
        if node.operator == "OR":
            return "(" + " OR ".join(sql for sql, _ in compiled) + ")", params
        joined = "(" + " AND ".join(sql for sql, _ in compiled) + ")"
        return (f"NOT {joined}" if node.operator == "NOT" else joined), params
    negated = node.operator in ("!=", "not in")
    sql, params = _holders(node)
    return f"d.doc_id {'NOT IN' if negated else 'IN'} ({sql})", params


def _holders(node: Comparison) -> tuple[str, list]:
    """SELECT of the documents holding a value that satisfies the comparison's positive
    form (``==`` for ``!=``, ``in`` for ``not in``)."""
    operator = {"!=": "==", "not in": "in"}.get(node.operator, node.operator)
    by_kind: dict[str, list] = {}
    for kind, value in node.values:
        by_kind.setdefault(kind, []).append(value)
    alternatives, params = [], [node.field]
    for kind, values in by_kind.items():
        column = "txt" if kind == "str" else "num"
        values = [v if kind == "str" else float(v) for v in values]
        if operator == "in" and len(values) > 1:
            test = f"{column} IN ({','.join('?' * len(values))})"
        else:
            test = f"{column} {_SQL_OPERATOR[operator]} ?"
            values = values[:1]
        alternatives.append(f"(kind = ? AND {test})")
        params += [kind, *values]
    return f"SELECT doc_id FROM fields WHERE field = ? AND ({' OR '.join(alternatives)})", params


#: Selections resolved to chunk ids, kept per generation of the index (a question's dense
#: and lexical searches, and the next questions with the same filter, share one).
CACHE_SIZE = 32
_CHUNKS_OF = "SELECT c.id FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE "


class Selector:
    """Resolves selections over one connection (the caller holds its lock)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._cache: dict[tuple, np.ndarray | None] = {}

    def everything(self, selection: Selection | None) -> bool:
        """Whether the selection holds every chunk (so the plain search serves it)."""
        if selection is None or selection.everything:
            return True
        if selection.filter is not None:
            return False
        # every collection that ever held a document has a BM25 table
        held = {r[0] for r in self.db.execute("SELECT collection FROM fts_tables")}
        return held <= set(selection.collections)

    def chunk_ids(self, selection: Selection, generation: int) -> np.ndarray:
        """The ids of the selected chunks, ascending."""
        key = (selection, generation)
        if key not in self._cache:
            sql, params = where(selection)
            rows = self.db.execute(_CHUNKS_OF + sql + " ORDER BY c.id", params)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = np.fromiter((r[0] for r in rows), dtype=np.int64)
        return self._cache[key]

    def filtered_ids(self, selection: Selection | None, generation: int) -> np.ndarray | None:
        """The ids of the chunks a lexical search may return when the collections' own
        tables are not restriction enough (a filter), ascending; None without a filter."""
        if selection is None or selection.filter is None:
            return None
        return self.chunk_ids(selection, generation)

    def documents(self, selection: Selection) -> list[str]:
        sql, params = where(selection)
        rows = self.db.execute(
            f"SELECT d.doc_id FROM documents d WHERE {sql} ORDER BY d.doc_id", params
        )
        return [r[0] for r in rows]


_FIELD_VALUES = f"""
SELECT field, kind, num, txt FROM (
    SELECT f.field, f.kind, f.num, f.txt,
           row_number() OVER (PARTITION BY f.field ORDER BY f.kind, f.num, f.txt) AS n
    FROM fields f JOIN documents d ON d.doc_id = f.doc_id
    WHERE d.collection = ? AND f.field LIKE 'meta.%'
      AND f.field NOT IN ({",".join("?" * len(UNOFFERED_FIELDS))})
    GROUP BY f.field, f.kind, f.num, f.txt
) WHERE n <= ?
"""


def field_values(db: sqlite3.Connection, collection: str, limit: int) -> dict[str, list]:
    """:meth:`rag.stores.base.DocumentStore.field_values`: the distinct values of the
    ``fields`` rows of the collection's documents, the first ``limit`` of each field."""
    rows = db.execute(_FIELD_VALUES, (collection, *UNOFFERED_FIELDS, limit))
    return distinct_values(
        ((field, kind, txt if kind == "str" else num) for field, kind, num, txt in rows), limit
    )
