"""``python -m benchmarks embedders``: the candidate faster embedders side by side, on the
same passages in one process (issue 38, item 1: chosen by measurement).

* ``torch fp32``: sentence-transformers as the service ran before (the reference);
* ``torch bf16``: the same model cast to bfloat16 (this CPU's AVX-512 BF16, if it has it);
* ``onnx fp32``: the model exported and fused by ONNX Runtime's BERT optimizer;
* ``onnx int8``: the fused model quantised per channel (what ``RAG_EMBEDDER=int8`` runs).

The ONNX ones run as the service runs them (:class:`OnnxEmbedder`: one text a run, as many
at once as there are cores); torch encodes batches of 32 sorted by length. Each variant
reports passages per second (median of ``repeats`` rounds, variants alternating) and the
cosine of its vectors to the reference's.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import machine, reference_model, squad_corpus
from rag.retrieval.onnx_build import fused_model


def _onnx(model_dir: Path, cache: Path, file: Path | None):
    """An :class:`OnnxEmbedder` running ``file`` (None: the int8 build)."""
    from rag.retrieval.onnx_embedding import OnnxEmbedder

    class Variant(OnnxEmbedder):
        def model_file(self, folder: Path) -> Path:
            return file if file is not None else super().model_file(folder)

    embedder = Variant(str(model_dir), cache, cache_size=0)
    embedder.warm_up()
    return embedder


def _torch(dtype: str):
    """A function encoding texts with sentence-transformers in ``dtype``."""
    import torch

    model = reference_model()
    if dtype == "bf16":
        model = model.to(torch.bfloat16)

    def encode(texts: list[str]) -> np.ndarray:
        with torch.inference_mode():
            found = model.encode(texts, batch_size=32, convert_to_tensor=True)
            found = torch.nn.functional.normalize(found.float(), dim=-1)
        return found.numpy()

    return encode


def run(squad: Path, paragraphs: int = 300, repeats: int = 3) -> dict:
    """Passages/s and cosine to torch fp32 of each variant on ``paragraphs`` of ``squad``."""
    from rag.core.settings import get_settings, packaged_embedding_model

    model_dir = Path(packaged_embedding_model())
    texts = [text for _, text, _ in squad_corpus(squad, paragraphs)]
    with tempfile.TemporaryDirectory(prefix="rag-bench-embedders-") as tmp:
        t0 = time.perf_counter()
        fp32_file = fused_model(model_dir, Path(tmp))
        build_s = time.perf_counter() - t0
        cache = get_settings().cache_dir
        variants = {
            "torch fp32": _torch("fp32"),
            "torch bf16": _torch("bf16"),
            "onnx fp32": _onnx(model_dir, cache, fp32_file).embed,
            "onnx int8": _onnx(model_dir, cache, None).embed,
        }
        seconds: dict[str, list[float]] = {name: [] for name in variants}
        vectors: dict[str, np.ndarray] = {}
        for encode in variants.values():
            encode(texts[:16])  # warm
        for _ in range(repeats):
            for name, encode in variants.items():
                t0 = time.perf_counter()
                vectors[name] = np.asarray(encode(texts), dtype=np.float32)
                seconds[name].append(time.perf_counter() - t0)
    reference = vectors["torch fp32"]
    rows = []
    for name in variants:
        cosine = (vectors[name] * reference).sum(axis=1)
        median = statistics.median(seconds[name])
        rows.append(
            {
                "embedder": name,
                "passages_per_s": round(len(texts) / median, 1),
                "speedup": round(statistics.median(seconds["torch fp32"]) / median, 2),
                "cosine_mean": round(float(cosine.mean()), 4),
                "cosine_min": round(float(cosine.min()), 4),
                "seconds_each": [round(s, 2) for s in seconds[name]],
            }
        )
    return {
        "benchmark": "embedders",
        "passages": len(texts),
        "repeats": repeats,
        "onnx_export_and_fuse_s": round(build_s, 1),
        "variants": rows,
        "machine": machine(),
        "cpu_flags": _flags(),
    }


def _flags() -> list[str]:
    """The CPU's vector extensions that matter to these variants."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8")
    flags = next(
        (line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")),
        [],
    )
    return [f for f in wanted if f in flags]


def table(report: dict) -> str:
    from benchmarks.common import markdown_table

    return markdown_table(
        report["variants"],
        [
            ("embedder", "embedder"),
            ("passages_per_s", "passages/s"),
            ("speedup", "speed-up"),
            ("cosine_mean", "cosine to torch fp32 (mean)"),
            ("cosine_min", "(min)"),
        ],
    )
