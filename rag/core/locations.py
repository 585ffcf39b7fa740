"""Where a passage is in its file: the page, slide, sheet and row, heading path or e-mail
part that a citation names (``location``), so that a reader can find it in the original.

An extractor marks *regions* of the text it returns: ``(offset, location)`` pairs in
offset order, each region running to the next one's offset (``(0, {"slide": 1})``,
``(812, {"slide": 2})``). The chunker gives each passage the regions it overlaps
(:func:`regions_within`); a citation's location is the region that holds its answer, or
the passage's start (:func:`location_at`). Regions come back from a parse worker as
JSON: :func:`checked` keeps only well-formed ones, so a crafted file cannot put
anything else into the stores or the API.

Usage::

    >>> regions = ((0, {"slide": 1}), (10, {"slide": 2}))
    >>> location_at(regions, 12)
    {'slide': 2}
    >>> describe({"sheet": "Prices", "row": 14})
    'Prices!A14'
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Sequence

Region = tuple[int, dict]

#: The keys a location may have, and what each holds.
_INTS = ("page", "slide", "row")
_STRINGS = ("sheet", "part")
_LISTS = ("headings",)
MAX_STRING = 200
MAX_HEADINGS = 8
#: A passage's regions as stored (JSON): well under Milvus' 65,535-byte VARCHAR.
MAX_REGIONS_BYTES = 32_000


def _clean_location(location: object) -> dict | None:
    """``location`` with only the known keys, each of its kind; None if nothing is left."""
    if not isinstance(location, dict):
        return None
    out: dict = {}
    for key in _INTS:
        value = location.get(key)
        if type(value) is int and 0 < value < 1 << 31:
            out[key] = value
    for key in _STRINGS:
        value = location.get(key)
        if isinstance(value, str) and value.strip():
            out[key] = value.strip()[:MAX_STRING]
    for key in _LISTS:
        value = location.get(key)
        if isinstance(value, list):
            items = [v.strip()[:MAX_STRING] for v in value if isinstance(v, str) and v.strip()]
            if items:
                out[key] = items[-MAX_HEADINGS:]
    return out or None


def checked(regions: object, length: int) -> tuple[Region, ...]:
    """Well-formed regions only: offsets ints within ``[0, length)``, increasing, each
    location cleaned (see the module docstring); anything else is dropped."""
    if not isinstance(regions, list | tuple):
        return ()
    out: list[Region] = []
    for item in regions:
        if not isinstance(item, list | tuple) or len(item) != 2:
            continue
        offset, location = item
        if type(offset) is not int or not 0 <= offset < max(length, 1):
            continue
        location = _clean_location(location)
        if location is None or (out and offset <= out[-1][0]):
            continue
        out.append((offset, location))
    return tuple(out)


def location_at(regions: Sequence[Region], offset: int) -> dict | None:
    """The location of the region holding ``offset``; None before the first region."""
    at = bisect.bisect_right([start for start, _ in regions], offset) - 1
    return dict(regions[at][1]) if at >= 0 else None


def regions_within(regions: Sequence[Region], start: int, end: int) -> tuple[Region, ...]:
    """The regions that ``text[start:end]`` overlaps, the first at its own offset (so
    that the passages of a document together hold every region with text), at most
    :data:`MAX_REGIONS_BYTES` of them as JSON."""
    if not regions:
        return ()
    starts = [s for s, _ in regions]
    lo = max(bisect.bisect_right(starts, start) - 1, 0)
    hi = bisect.bisect_left(starts, max(end, start + 1))
    chosen = tuple(regions[lo:hi])
    while len(chosen) > 1 and len(dumps(chosen).encode()) > MAX_REGIONS_BYTES:
        chosen = chosen[: len(chosen) // 2]  # a passage of thousands of tiny rows
    return chosen


def merged(parts: Iterable[Sequence[Region]]) -> tuple[Region, ...]:
    """A document's regions again from its passages' (for re-chunking a stored one)."""
    return tuple(sorted({start: location for p in parts for start, location in p}.items()))


def dumps(regions: Sequence[Region]) -> str:
    """Regions as stored: compact JSON, "" for none."""
    return (
        json.dumps([list(r) for r in regions], ensure_ascii=False, separators=(",", ":"))
        if (regions)
        else ""
    )


def loads(stored: str | None) -> tuple[Region, ...]:
    """Regions as read back from a store (tolerant: damaged JSON is no regions)."""
    if not stored:
        return ()
    try:
        return tuple((int(s), dict(loc)) for s, loc in json.loads(stored))
    except (ValueError, TypeError):
        return ()


def _column(row: int) -> str:
    return f"A{row}"


def describe(location: dict | None) -> str:
    """A location as people write it: "page 3", "slide 2", "Prices!A14", "row 14",
    "Scope › Notice", "attachment.txt"."""
    if not location:
        return ""
    if "sheet" in location:
        row = location.get("row")
        return f"{location['sheet']}!{_column(row)}" if row else str(location["sheet"])
    for key in ("page", "slide", "row"):
        if key in location:
            return f"{key} {location[key]}"
    if "headings" in location:
        return " › ".join(location["headings"])
    return str(location.get("part", ""))
