"""Which embedder made an index's vectors: the names ``RAG_EMBEDDER`` takes, and the
identity an index records for each.

The packaged all-MiniLM-L6-v2 embeds in two ways: ``fp32`` (sentence-transformers, the
reference) and ``int8`` (the same weights quantised, run by ONNX Runtime; several times
faster on a CPU). Their vectors are close (cosine about 0.995) but not equal, so an index
records which one made it and a process embedding with the other is refused: dense search
over mixed vectors would rank by the difference between the embedders, not by meaning.
This module holds only names, so that the stores can word that refusal without a model.
"""

from __future__ import annotations

#: What ``RAG_EMBEDDER`` may name (besides ``auto``), each with the mark it adds to the
#: model's identity: fp32 adds none, so that indexes built before int8 existed still open.
MARKS = {"fp32": "", "int8": "#int8-onnx"}
#: The embedder of a new index, chosen by measurement (docs/performance.md, "Faster
#: embedding"): about 3x faster to index, retrieval within 0.01 of fp32.
DEFAULT_KIND = "int8"
#: The packaged model's identity, wherever it is installed.
PACKAGED_IDENTITY = "sentence-transformers/all-MiniLM-L6-v2"


def identity(model: str, kind: str) -> str:
    """The identity an index records for ``model`` embedded by ``kind``."""
    return model + MARKS[kind]


def kind_of(recorded: str) -> tuple[str, str | None]:
    """(model, kind) of a recorded identity; kind is None for a mark this version does
    not know (an index of a newer version)."""
    model, mark, rest = recorded.partition("#")
    if not mark:
        return model, "fp32"
    return model, next((k for k, m in MARKS.items() if m == f"#{rest}"), None)


def mismatch_advice(recorded: str, wanted: str, rebuild: str) -> str | None:
    """What to do when an index made by ``recorded`` is opened to be searched with
    ``wanted``'s vectors, if both are the same model by two embedders (else None: another
    model altogether, which ``RAG_EMBEDDING_MODEL`` decides)."""
    (model, had), (other, has) = kind_of(recorded), kind_of(wanted)
    if model != other or had is None or has is None:
        return None
    return (
        f"was embedded by the {had} embedder, not {has} (RAG_EMBEDDER): set RAG_EMBEDDER={had} "
        f"(or auto, the embedder an index records) to use it as it is, or {rebuild} to "
        f"re-embed it with {has}"
    )
