"""Lazy public names for packages whose modules load heavy libraries (torch, FAISS).

A package's ``__init__`` hands on its public names without importing torch for a caller
that only wanted, say, the SQuAD scorer: the module that defines a name is imported
when the name is first used (PEP 562), as transformers does for its models.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_getattr(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` on demand."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
