"""Metadata filters in the Haystack 2.x syntax, with one written semantics for every store.

A filter is a comparison ``{"field": "meta.year", "operator": ">=", "value": 2020}`` or a
logic node ``{"operator": "AND"|"OR"|"NOT", "conditions": [...]}``. :func:`parse_filter`
checks one (a :class:`FilterError` names the path of the first problem: an unknown field
form, operator or a bad value is refused, never silently matched as nothing) and
returns its tree; :mod:`rag.core.selection` says what it means for a document (the
reference the stores are tested against, and the typed rows they index, so that every
store compares alike).

The semantics (docs/filters.md has the truth tables):

* values have a kind: ``num`` (integers and floats, not booleans), ``str``, ``bool`` and
  ``date`` (an RFC 3339 date-time with a zone, compared as an instant); a filter value
  that looks like a date-time without a zone is refused;
* a comparison holds when the field holds a value of the same kind that satisfies it; a
  list-valued field holds when any element does; a missing or null field, or one of
  another kind, satisfies no comparison;
* ``!=`` is NOT ``==`` and ``not in`` is NOT ``in``: they hold for a missing field;
* ``NOT`` is the negation of the AND of its conditions.

Usage::

    from rag.core.filters import parse_filter

    parse_filter({"field": "meta.year", "operator": ">=", "value": 2020})
    parse_filter({"field": "meta.year", "operator": "~", "value": 1})  # FilterError:
    # filters.operator: unknown operator '~'; use one of '==', '!=', ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from rag.core.errors import QuestionError

#: Fields a filter may name besides ``meta.<key>``, with the kind of their values.
BUILTIN_FIELDS = {
    "doc_id": "str",
    "title": "str",
    "source": "str",
    "collection": "str",
    "created_at": "date",
}
COMPARISONS = ("==", "!=", ">", ">=", "<", "<=", "in", "not in")
LOGIC = ("AND", "OR", "NOT")
#: Bounds that keep a filter cheap to check and to compile.
MAX_CONDITIONS = 200
MAX_DEPTH = 4
MAX_LIST = 50
MAX_IN_VALUES = 1000
MAX_VALUES = 10_000
MAX_STRING = 1000
#: Numbers a filter or metadata may hold (a float holds them exactly enough to compare).
MAX_NUMBER = 1e300
META_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")
COLLECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DEFAULT_COLLECTION = "default"
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?")
ZONE = re.compile(r"([Zz]|[+-]\d{2}:\d{2})$")


class FilterError(QuestionError):
    """A filter that cannot be used; ``path`` says where in it (``filters.conditions[1]``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


@dataclass(frozen=True)
class Comparison:
    field: str
    operator: str
    #: The value(s) as compared: (kind, value) pairs, one per value of an ``in`` list.
    values: tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class Logic:
    operator: str
    conditions: tuple[Comparison | Logic, ...]


Filter = Comparison | Logic


def valid_collection(name: object) -> bool:
    return isinstance(name, str) and bool(COLLECTION_NAME.match(name))


def storable(text: str) -> str:
    """A string that can be stored and compared: lone surrogates (possible in JSON) become
    '?', in filters and metadata alike, so that both compare the same text."""
    return text.encode("utf-8", "replace").decode("utf-8")


def typed(value: object) -> tuple[str, object] | None:
    """A stored value's (kind, comparable value), or None for a value no filter matches
    (null, a nested object, NaN, a number past a float). Dates become UTC epoch seconds."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return None
        return ("num", number) if abs(number) <= MAX_NUMBER else None
    if isinstance(value, str):
        value = storable(value)
        if DATE_TIME.match(value) and ZONE.search(value):
            instant = parse_instant(value)
            if instant is not None:
                return ("date", instant)
        return ("str", value)
    return None


def parse_instant(text: str) -> float | None:
    """UTC epoch seconds of an RFC 3339 date-time with a zone, or None."""
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).timestamp()


def parse_filter(spec: object, path: str = "filters") -> Filter | None:
    """The checked tree of a filter (None for an absent or empty one)."""
    if spec is None or spec == {}:
        return None
    counter = [0, 0]  # nodes, values
    return _node(spec, path, 1, counter)


def _node(spec: object, path: str, depth: int, counter: list[int]) -> Filter:
    if not isinstance(spec, dict):
        raise FilterError(path, "a filter is an object with 'operator' and 'field' or 'conditions'")
    counter[0] += 1
    if counter[0] > MAX_CONDITIONS:
        raise FilterError(path, f"a filter has at most {MAX_CONDITIONS} nodes")
    if depth > MAX_DEPTH:
        raise FilterError(path, f"a filter nests at most {MAX_DEPTH} levels")
    operator = spec.get("operator")
    if operator in LOGIC:
        _only(spec, ("operator", "conditions"), path)
        conditions = spec.get("conditions")
        if not isinstance(conditions, list) or not conditions:
            raise FilterError(f"{path}.conditions", f"{operator} needs a non-empty list")
        if len(conditions) > MAX_LIST:
            raise FilterError(f"{path}.conditions", f"at most {MAX_LIST} conditions")
        return Logic(
            operator,
            tuple(
                _node(c, f"{path}.conditions[{i}]", depth + 1, counter)
                for i, c in enumerate(conditions)
            ),
        )
    if operator in COMPARISONS:
        _only(spec, ("operator", "field", "value"), path)
        field = _field(spec.get("field"), f"{path}.field")
        if "value" not in spec:
            raise FilterError(f"{path}.value", "a comparison needs a value")
        values = _values(operator, spec["value"], f"{path}.value")
        counter[1] += len(values)
        if counter[1] > MAX_VALUES:
            raise FilterError(path, f"a filter compares at most {MAX_VALUES} values in all")
        return Comparison(field, operator, values)
    known = ", ".join(repr(o) for o in (*COMPARISONS, *LOGIC))
    raise FilterError(f"{path}.operator", f"unknown operator {show(operator)}; use one of {known}")


def _only(spec: dict, allowed: tuple[str, ...], path: str) -> None:
    for key in spec:
        if key not in allowed:
            raise FilterError(f"{path}.{show(key, 40)}", "not a filter key here")


def _field(field: object, path: str) -> str:
    if isinstance(field, str):
        if field in BUILTIN_FIELDS:
            return field
        if field.startswith("meta.") and META_KEY.match(field[5:]):
            return field
    known = ", ".join(BUILTIN_FIELDS)
    raise FilterError(path, f"unknown field {show(field)}; use {known} or meta.<key>")


def _values(operator: str, value: object, path: str) -> tuple[tuple[str, object], ...]:
    if operator in ("in", "not in"):
        if not isinstance(value, list) or not value:
            raise FilterError(path, f"'{operator}' needs a non-empty list of values")
        if len(value) > MAX_IN_VALUES:
            raise FilterError(path, f"'{operator}' takes at most {MAX_IN_VALUES} values")
        return tuple(_value(v, f"{path}[{i}]") for i, v in enumerate(value))
    if isinstance(value, list):
        raise FilterError(path, f"'{operator}' compares one value; use 'in' for a list")
    kind, v = _value(value, path)
    if operator not in ("==", "!=") and kind == "bool":
        raise FilterError(path, f"'{operator}' does not order booleans")
    return ((kind, v),)


def _value(value: object, path: str) -> tuple[str, object]:
    if value is None:
        raise FilterError(
            path, "null is not a value to compare; a missing field satisfies != and 'not in'"
        )
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise FilterError(path, f"a string of at most {MAX_STRING} characters")
        if DATE_TIME.match(value) and not ZONE.search(value):
            raise FilterError(path, "a date-time without a zone; add Z or an offset such as +02:00")
        found = typed(value)
        if DATE_TIME.match(value) and (found is None or found[0] != "date"):
            raise FilterError(path, "not an RFC 3339 date-time")
        return found
    found = typed(value) if isinstance(value, bool | int | float) else None
    if found is None:
        raise FilterError(path, "a value is a string, a finite number, a boolean or a date")
    return found


def show(value: object, most: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= most else text[: most - 1] + "…"
