"""Which reader the settings name: the factory, kept apart from the readers it picks."""

from __future__ import annotations

from pathlib import Path

from rag.reading.base import Reader
from rag.reading.lexical import LexicalReader
from rag.reading.transformer import TransformerReader


def load_reader(model: str, **kwargs) -> Reader:
    """The reader named by the settings: 'lexical', or a span model's name or path."""
    from rag.core.settings import PACKAGED_READER

    if model == "lexical":
        return LexicalReader()
    if Path(model) == PACKAGED_READER and not (PACKAGED_READER / "config.json").exists():
        return LexicalReader()  # a source checkout without the trained weights
    if not Path(model).exists() and (Path(model).is_absolute() or model.startswith(".")):
        raise FileNotFoundError(f"reader model not found: {model}")
    return TransformerReader(model, **kwargs)
