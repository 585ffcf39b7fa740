"""HTTP API over the :mod:`rag` pipeline."""
