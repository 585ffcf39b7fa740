"""Random documents with varied metadata and random filters over them, for the selection
contract (every store must select exactly what :meth:`Selection.admits` says)."""

from __future__ import annotations

import random

from rag.core.filters import parse_filter

KEYS = ("year", "team", "draft", "due", "tags", "score")
TEAMS = ("hr", "legal", "ops", "Legal")
DATES = ("2024-01-01T00:00:00Z", "2024-06-30T12:00:00+02:00", "2025-03-01T08:30:00-05:00")


def random_metadata(rng: random.Random) -> dict:
    """A mix of kinds per key: missing, null, numbers (int/float), strings, booleans,
    dates with zones and lists of those."""
    choices = {
        "year": lambda: rng.choice([2019, 2020, 2020.0, 2023, 2024.5, "2020", None]),
        "team": lambda: rng.choice([*TEAMS, ["hr", "ops"], [], 7, None]),
        "draft": lambda: rng.choice([True, False, "true", 1, None]),
        "due": lambda: rng.choice([*DATES, "2024-01-01", [DATES[0], DATES[2]], None]),
        "tags": lambda: rng.sample(["a", "b", "c", "d"], rng.randint(0, 3)),
        "score": lambda: rng.choice([0, 0.5, -1, 3, True, "3"]),
    }
    return {k: make() for k, make in choices.items() if rng.random() < 0.75}


def random_value(rng: random.Random, key: str) -> object:
    pools = {
        "year": [2019, 2020, 2023.0, 2024, "2020"],
        "team": [*TEAMS, "x"],
        "draft": [True, False],
        "due": [*DATES, "2024-03-01T00:00:00Z"],
        "tags": ["a", "b", "c", "z"],
        "score": [0, 0.5, 3, -1],
        "collection": ["default", "hr", "legal"],
        "created_at": ["2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"],
    }
    return rng.choice(pools[key])


def random_comparison(rng: random.Random) -> dict:
    key = rng.choice([*KEYS, "collection", "created_at"])
    field = key if key in ("collection", "created_at") else f"meta.{key}"
    operator = rng.choice(["==", "!=", ">", ">=", "<", "<=", "in", "not in"])
    if operator in ("in", "not in"):
        return {
            "field": field,
            "operator": operator,
            "value": [random_value(rng, key) for _ in range(rng.randint(1, 3))],
        }
    value = random_value(rng, key)
    if isinstance(value, bool) and operator not in ("==", "!="):
        operator = "=="
    return {"field": field, "operator": operator, "value": value}


def random_filter(rng: random.Random, depth: int = 0) -> dict:
    if depth >= 2 or rng.random() < 0.5:
        return random_comparison(rng)
    operator = rng.choice(["AND", "OR", "NOT"])
    conditions = [random_filter(rng, depth + 1) for _ in range(rng.randint(1, 3))]
    return {"operator": operator, "conditions": conditions}


def random_filters(n: int, seed: int = 0):
    """``n`` parsed random filters."""
    rng = random.Random(seed)
    return [parse_filter(random_filter(rng)) for _ in range(n)]


def malformed_filters(n: int, seed: int = 0) -> list[dict]:
    """``n`` random filter-shaped objects, nearly all of them invalid (wrong keys, kinds,
    operators, values, nesting)."""
    rng = random.Random(seed)
    junk = [None, 1, "x", [], {}, [1], {"a": 1}, True, 1.5, "2024-01-01T00:00", "meta.", "IN"]
    keys = ["field", "operator", "value", "conditions", "other"]
    found = []
    for _ in range(n):
        spec = {k: rng.choice(junk) for k in rng.sample(keys, rng.randint(1, 4))}
        if rng.random() < 0.3:
            spec = {"operator": rng.choice(["AND", "OR", "NOT"]), "conditions": [spec]}
        found.append(spec)
    return found
