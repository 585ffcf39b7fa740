"""The int8 embedder's model file, built once from the packaged weights (no download).

Built on first use into the cache folder (``RAG_CACHE_DIR``), under a name keyed by the
model files' hash and this recipe, so that a new model or recipe builds anew and two
indexes share one build. Three steps, about 15 s on 2 cores, measured in
docs/performance.md ("Faster embedding"):

1. ``torch.onnx.export`` of the transformer (eager attention, so that step 2 recognises
   it); pooling and normalising stay in numpy, where they are exact;
2. ONNX Runtime's BERT optimizer fuses attention, layer norms and GELU (fp32 fused: 1.2x);
3. dynamic int8 quantisation of the weights, per output channel (per tensor lost too
   much: cosine 0.95 against fp32 instead of 0.995), activations quantised per batch.

Two processes building at once each write a temporary folder and rename the file into
place; whichever lands last wins and both files are equal.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

from rag.core.errors import StoreError

log = logging.getLogger(__name__)
#: Changes whenever the steps change, so that an older build is not taken for this one.
RECIPE = "int8-onnx-1"
#: The model files whose bytes key a build.
KEY_FILES = ("config.json", "model.safetensors", "tokenizer.json")
FILE_NAME = "model-int8.onnx"


def build_key(model_dir: Path) -> str:
    """A hash of the model's files, the recipe and ONNX Runtime's version."""
    import onnxruntime

    digest = hashlib.sha256(f"{RECIPE} {onnxruntime.__version__}".encode())
    for name in KEY_FILES:
        path = model_dir / name
        if path.is_file():
            with path.open("rb") as f:
                digest.update(hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()[:16]


def int8_model(model_dir: Path, cache_dir: Path) -> Path:
    """The int8 ONNX model of ``model_dir``, built into ``cache_dir`` unless already
    there; a folder that cannot be written is a :class:`StoreError` naming the way out."""
    target = cache_dir / "embedders" / f"{model_dir.parent.name}-{build_key(model_dir)}" / FILE_NAME
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    except OSError as exc:
        raise StoreError(
            f"cannot build the int8 embedder in {cache_dir} ({exc.strerror or exc}): "
            "set RAG_CACHE_DIR to a writable folder, or RAG_EMBEDDER=fp32"
        ) from None
    log.warning("building the int8 embedder once, into %s (about 15 s)", target.parent)
    try:
        built = _build(model_dir, work)
        os.replace(built, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _build(model_dir: Path, work: Path) -> Path:
    """Export, fuse and quantise; the quantised file, in ``work``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantised = work / FILE_NAME
    fused = fused_model(model_dir, work)
    with _quiet():
        quantize_dynamic(
            str(fused),
            str(quantised),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    return quantised


def fused_model(model_dir: Path, work: Path) -> Path:
    """Steps 1 and 2: the exported model, fused by ONNX Runtime (fp32), in ``work``."""
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    exported, fused = work / "fp32.onnx", work / "fused.onnx"
    with _quiet():
        _export(model_dir, exported)
        model = optimize_model(
            str(exported),
            model_type="bert",
            num_heads=int(config["num_attention_heads"]),
            hidden_size=int(config["hidden_size"]),
        )
        model.save_model_to_file(str(fused))
    return fused


def _export(model_dir: Path, out: Path) -> None:
    """The transformer as ONNX: ids, mask and token types in, the last hidden state out,
    batch and length dynamic."""
    import torch
    from transformers import AutoModel

    from rag.core.settings import offline_and_quiet

    offline_and_quiet()
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tuple(torch.ones((2, 8), dtype=torch.long) for _ in names)

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    with torch.no_grad():
        torch.onnx.export(
            Hidden(),
            sample,
            str(out),
            input_names=names,
            output_names=["hidden"],
            dynamic_axes={n: {0: "batch", 1: "length"} for n in [*names, "hidden"]},
            opset_version=17,
            dynamo=False,
        )


class _quiet:
    """The exporter's tracer warnings and the quantizer's advice are not the user's
    business: silenced while building."""

    def __enter__(self) -> None:
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")
        self._level = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().setLevel(self._level)
        self._warnings.__exit__(*exc)
