"""``rag bench``: figures for the README, measured against real server processes.

Each benchmark works on throwaway copies (documents, index), never on the user's
index, and talks to ``rag serve`` over real HTTP where a server is involved.
Speed figures come with a reference measured in the same run (see
:func:`rag.bench.common.unit_ms`), because shared machines are noisy.
"""

from rag.bench.common import Server, machine, peak_rss_mb, seeded_server
from rag.bench.load import crash, load

__all__ = ["Server", "crash", "load", "machine", "peak_rss_mb", "seeded_server"]
