"""The running service: indexing, answering, and the :class:`Pipeline` that loads
both once for the API, the CLI and MCP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.core.exports import lazy_getattr

if TYPE_CHECKING:
    from rag.service.answering import Answerer
    from rag.service.indexing import Indexer
    from rag.service.pipeline import Pipeline
    from rag.service.rebuild import rebuild_index

#: public name → the module that defines it, imported on first use (the
#: modules load torch or other heavy libraries)
_EXPORTS = {
    "Pipeline": "rag.service.pipeline",
    "Indexer": "rag.service.indexing",
    "rebuild_index": "rag.service.rebuild",
    "Answerer": "rag.service.answering",
}
__all__ = [
    "Answerer",
    "Indexer",
    "Pipeline",
    "rebuild_index",
]

__getattr__ = lazy_getattr(__name__, _EXPORTS)
