"""Which reader the settings name: the factory, kept apart from the readers it picks.

Usage::

    from rag.reading import load_reader

    reader = load_reader("fast")  # a packaged reader by name; or a path, or "lexical"
"""

from __future__ import annotations

from pathlib import Path

from rag.core.settings import PACKAGED_READERS, reader_location
from rag.reading.base import Reader
from rag.reading.lexical import LexicalReader
from rag.reading.transformer import TransformerReader


def load_reader(model: str, **kwargs) -> Reader:
    """The reader named by the settings: a packaged reader's name (reported by that
    name), ``lexical``, or a span model's path or name."""
    if model == "lexical":
        return LexicalReader()
    location = Path(reader_location(model))
    if location in PACKAGED_READERS.values() and not (location / "config.json").exists():
        return LexicalReader()  # a source checkout without the trained weights
    if not location.exists() and (location.is_absolute() or model.startswith(".")):
        raise FileNotFoundError(f"reader model not found: {model}")
    name = model if model in PACKAGED_READERS else None
    return TransformerReader(location if name else model, name=name, **kwargs)
