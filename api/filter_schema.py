"""The JSON schemas of a filter and of metadata, as precise as the server's checks: what
the schema allows the server accepts, so that clients generated from the OpenAPI (and a
fuzzer) know what is valid. The server still checks everything itself
(:func:`rag.core.filters.parse_filter`, :func:`rag.core.selection.check_metadata`), with
errors that name the path."""

from __future__ import annotations

from rag.core.filters import (
    COMPARISONS,
    MAX_DEPTH,
    MAX_IN_VALUES,
    MAX_LIST,
    MAX_NUMBER,
    MAX_STRING,
)
from rag.core.selection import RESERVED_META

DATE_LIKE = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}"
ZONED = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$"
FIELD = r"^(doc_id|title|source|collection|created_at|meta\.[A-Za-z0-9_][A-Za-z0-9_-]{0,63})$"
KEY = r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$"
NUMBER = {"type": "number", "minimum": -MAX_NUMBER, "maximum": MAX_NUMBER}


def _string(most: int | None) -> dict:
    """A string is plain, or a date-time with a zone (one without a zone is refused)."""
    plain = {"type": "string", "not": {"pattern": DATE_LIKE}}
    if most is not None:
        plain["maxLength"] = most
    return {"anyOf": [plain, {"type": "string", "format": "date-time", "pattern": ZONED}]}


#: A filter's value (strings of at most MAX_STRING), and a metadata value (any length).
STRING = _string(MAX_STRING)
SCALAR = {"anyOf": [STRING, NUMBER, {"type": "boolean"}]}
META_SCALAR = {"anyOf": [_string(None), NUMBER, {"type": "boolean"}, {"type": "null"}]}


def comparison_schema() -> dict:
    ordered = [o for o in COMPARISONS if o not in ("==", "!=", "in", "not in")]
    return {
        "type": "object",
        "required": ["field", "operator", "value"],
        "additionalProperties": False,
        "properties": {
            "field": {"type": "string", "pattern": FIELD},
            "operator": {"enum": list(COMPARISONS)},
            "value": {},
        },
        "allOf": [
            _when(["==", "!="], SCALAR),
            _when(ordered, {"anyOf": [STRING, NUMBER]}),
            _when(
                ["in", "not in"],
                {"type": "array", "minItems": 1, "maxItems": MAX_IN_VALUES, "items": SCALAR},
            ),
        ],
    }


def _when(operators: list[str], value: dict) -> dict:
    return {
        "if": {"properties": {"operator": {"enum": operators}}, "required": ["operator"]},
        "then": {"properties": {"value": value}},
    }


def filter_schema(depth: int = MAX_DEPTH) -> dict:
    """A filter nesting at most ``depth`` levels (the server's limit), written out."""
    if depth <= 1:
        return comparison_schema()
    logic = {
        "type": "object",
        "required": ["operator", "conditions"],
        "additionalProperties": False,
        "properties": {
            "operator": {"enum": ["AND", "OR", "NOT"]},
            "conditions": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_LIST,
                "items": filter_schema(depth - 1),
            },
        },
    }
    return {"anyOf": [comparison_schema(), logic]}


def metadata_schema() -> dict:
    value = META_SCALAR
    return {
        "type": "object",
        "propertyNames": {"pattern": KEY, "not": {"enum": list(RESERVED_META)}},
        "additionalProperties": {"anyOf": [value, {"type": "array", "items": value}]},
    }


#: ``filters`` of a request: a filter, no filter (``{}``) or null.
FILTERS_SCHEMA = {
    "anyOf": [filter_schema(), {"type": "object", "maxProperties": 0}, {"type": "null"}]
}
