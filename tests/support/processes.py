"""What a process and its children use, read from /proc (Linux): the parse workers a
server started, and its memory."""

from __future__ import annotations

import os
from pathlib import Path


def children(pid: int) -> set[int]:
    """The running children of ``pid``, whichever of its threads started them."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue  # the thread ended meanwhile
    return found


def parse_workers(pid: int | None = None) -> set[int]:
    """The live parse workers (``python -m rag.documents.worker``) of ``pid`` (default:
    this process); a killed one, even before it is reaped, is not among them."""
    found = set()
    for child in children(os.getpid() if pid is None else pid):
        try:
            if b"rag.documents.worker" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.add(child)
        except OSError:
            continue
    return found


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of ``pid`` in MB: ``VmRSS`` (now) or ``VmHWM`` (its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)
