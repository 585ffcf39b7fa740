"""Filters: parsing with the path of every problem, and the written semantics (the truth
table in docs/filters.md is checked against the reference implementation)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.core.errors import IngestError
from rag.core.filters import FilterError, parse_filter
from rag.core.selection import check_metadata, matches
from rag.core.types import Document
from tests.support.filters import malformed_filters

DOCS = Path(__file__).resolve().parents[2] / "docs" / "filters.md"
TABLE_VALUES = {
    "`2020` (same kind, equal)": 2020,
    "`2023` (same kind, greater)": 2023,
    "missing": "missing",
    "`null`": None,
    '`"2020"` (another kind: a string)': "2020",
    "`[2019, 2020]` (a list)": [2019, 2020],
    "`[]` (an empty list)": [],
}
OPERATORS = [("==", 2020), ("!=", 2020), (">", 2020), (">=", 2020), ("<", 2020), ("<=", 2020)]
OPERATORS += [("in", [2020, 2021]), ("not in", [2020, 2021])]


def _table() -> dict[str, list[bool]]:
    rows = {}
    for line in DOCS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in TABLE_VALUES:
            marks = re.findall("[✓✗]", " ".join(cells[1:]))
            rows[cells[0]] = [m == "✓" for m in marks]
    return rows


def test_the_documented_truth_table_is_what_filters_do():
    table = _table()
    assert set(table) == set(TABLE_VALUES)
    for row, value in TABLE_VALUES.items():
        meta = {} if value == "missing" else {"year": value}
        document = Document("a", "t", "x", metadata=meta)
        done = [
            matches(parse_filter({"field": "meta.year", "operator": op, "value": v}), document)
            for op, v in OPERATORS
        ]
        assert done == table[row], row


def test_kinds_dates_and_logic():
    doc = Document(
        "a",
        "t",
        "x",
        created_at="2024-01-01T00:00:00+00:00",
        metadata={"due": "2024-06-30T12:00:00+02:00", "draft": False, "n": 1, "tags": ["x"]},
    )

    def holds(spec: dict) -> bool:
        return matches(parse_filter(spec), doc)

    assert holds({"field": "meta.due", "operator": "==", "value": "2024-06-30T10:00:00Z"})
    assert holds({"field": "created_at", "operator": "<", "value": "2024-01-01T00:00:01Z"})
    assert holds({"field": "meta.n", "operator": "==", "value": 1.0})
    assert not holds({"field": "meta.n", "operator": "==", "value": True})  # not a number
    assert holds({"field": "meta.draft", "operator": "==", "value": False})
    assert holds(
        {"operator": "NOT", "conditions": [{"field": "meta.tags", "operator": "==", "value": "y"}]}
    )
    both = [
        {"field": "meta.tags", "operator": "in", "value": ["x"]},
        {"field": "collection", "operator": "==", "value": "default"},
    ]
    assert holds({"operator": "AND", "conditions": both})
    assert not holds({"operator": "NOT", "conditions": both})


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ([], "filters"),
        ({"operator": "XOR", "conditions": []}, "filters.operator"),
        ({"field": "meta.a", "operator": "==", "value": None}, "filters.value"),
        ({"field": "meta.a", "operator": "==", "value": [1]}, "filters.value"),
        ({"field": "meta.a", "operator": "in", "value": []}, "filters.value"),
        ({"field": "meta.a", "operator": "in", "value": [1, {"x": 1}]}, "filters.value[1]"),
        ({"field": "meta.a b", "operator": "==", "value": 1}, "filters.field"),
        ({"field": "meta.a", "operator": "==", "value": float("nan")}, "filters.value"),
        ({"field": "meta.a", "operator": "==", "value": "2024-13-45T10:00:00Z"}, "filters.value"),
        ({"field": "meta.a", "operator": "==", "value": 1, "extra": 1}, "filters.'extra'"),
        (
            {"operator": "OR", "conditions": [{"operator": "AND"}]},
            "filters.conditions[0].conditions",
        ),
        ({"field": "meta.a", "operator": "=="}, "filters.value"),
    ],
)
def test_a_bad_filter_names_its_path(spec, path):
    with pytest.raises(FilterError) as caught:
        parse_filter(spec)
    assert caught.value.path == path and str(caught.value).startswith(path + ": ")


def test_fuzzed_malformed_filters_are_refused_with_a_path_never_a_crash():
    refused = 0
    for spec in malformed_filters(2000, seed=5):
        try:
            parse_filter(spec)
        except FilterError as exc:
            assert exc.path.startswith("filters")
            refused += 1
    assert refused > 1900  # an empty dict is no filter; almost nothing else is valid


def test_metadata_is_checked_with_its_path():
    assert check_metadata(
        {"year": 2024, "tags": ["a", 1], "due": "2024-01-01T00:00:00Z", "x": None}
    )
    for bad, where in [
        ({"due": "2024-01-01T10:00"}, "metadata.due"),
        ({"tags": ["a", {"b": 1}]}, "metadata.tags[1]"),
        ({"bad key": 1}, "metadata.'bad key'"),
        ({"page_starts": [0]}, "metadata.page_starts"),
        ({"n": float("inf")}, "metadata.n"),
    ]:
        with pytest.raises(IngestError, match=re.escape(where)):
            check_metadata(bad)
