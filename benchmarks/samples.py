"""A sample file with a question about one fact in it, its answer and where the fact is:
the unit of the format corpora (``benchmarks/samples_office.py`` and the other formats'
generators), checked end to end by ``benchmarks/formats_check.py`` and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """``path`` holds a fact that answers ``question`` with ``answer``, at ``location``
    (what a citation's ``location`` must say: ``{"slide": 3}``, ``{"row": 9}``, …)."""

    path: Path
    question: str
    answer: str
    location: dict
