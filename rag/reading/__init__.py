"""Reading passages: readers turn a question and passages into scored spans, which
are merged into answers that cite every passage they came from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.core.exports import lazy_getattr

if TYPE_CHECKING:
    from rag.reading.base import DEFAULT_THRESHOLD, Reader, Span
    from rag.reading.lexical import LexicalReader
    from rag.reading.loading import load_reader
    from rag.reading.merging import AnswerGroup, merge_answers
    from rag.reading.transformer import TransformerReader

#: public name → the module that defines it, imported on first use (the
#: modules load torch or other heavy libraries)
_EXPORTS = {
    "DEFAULT_THRESHOLD": "rag.reading.base",
    "LexicalReader": "rag.reading.lexical",
    "Reader": "rag.reading.base",
    "Span": "rag.reading.base",
    "TransformerReader": "rag.reading.transformer",
    "load_reader": "rag.reading.loading",
    "AnswerGroup": "rag.reading.merging",
    "merge_answers": "rag.reading.merging",
}
__all__ = [
    "DEFAULT_THRESHOLD",
    "AnswerGroup",
    "LexicalReader",
    "Reader",
    "Span",
    "TransformerReader",
    "load_reader",
    "merge_answers",
]

__getattr__ = lazy_getattr(__name__, _EXPORTS)
