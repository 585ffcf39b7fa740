"""Benchmarks: figures for the README, measured against real server processes.

Run from the repository root: ``python -m benchmarks query|index|scale|load|crash``.
Each benchmark works on throwaway copies (documents, index), never on the user's
index, and talks to ``rag serve`` over real HTTP where a server is involved.
Speed figures come with a reference measured in the same run (see
:func:`benchmarks.common.unit_ms`), because shared machines are noisy.
"""
