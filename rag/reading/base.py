"""What a reader is: passages in, scored answer spans out.

Every span is a slice of the passage it came from, so ``context[start:end] == text``.
Implementations: :class:`~rag.reading.transformer.TransformerReader` (a span model, by
default the one trained by ``rag train-reader`` and shipped in ``rag/models/``) and
:class:`~rag.reading.lexical.LexicalReader` (no model: the fallback and a floor to
beat); :func:`~rag.reading.loading.load_reader` picks one from the settings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

#: Confidence threshold used when neither the settings nor the model say otherwise.
DEFAULT_THRESHOLD = 0.3
READER_CONFIG = "reader_config.json"


@dataclass(frozen=True)
class Span:
    """An answer candidate inside one passage."""

    context: int  #: index of the passage in the list given to ``read``
    start: int  #: character offsets into that passage's text
    end: int
    text: str
    confidence: float  #: P(this span) against every span and "no answer", in 0..1


class Reader(Protocol):
    """What the pipeline and the evaluation need from a reader."""

    threshold: float
    model_name: str  #: what to report as the reader ("fast", a path, "lexical")

    def warm_up(self) -> None:
        """Load models once, before the first question."""

    def read(self, question: str, contexts: Sequence[str]) -> list[Span]:
        """Best spans of every passage, most confident first."""

    def read_pairs(self, questions: Sequence[str], contexts: Sequence[str]) -> list[list[Span]]:
        """The spans of each (question, context) pair, most probable first; a model reader
        reads all pairs in shared batches."""


def read_reader_config(model: str | Path) -> dict:
    path = Path(model) / READER_CONFIG
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return {}
