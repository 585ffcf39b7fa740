"""A model folder as int8 weights in N parts, and back: how a 438 MB encoder (the MPNet
teacher) reaches a lent GPU machine that takes at most 64 MiB of files per call.

    python scripts/device/pack_int8.py pack SRC_DIR OUT_PREFIX N    # here: OUT_PREFIX1/ …
    python scripts/device/pack_int8.py unpack DEST_DIR PART_DIR …   # there: fp32 again

Matrices get one scale per row (absmax / 127); vectors stay fp16. MPNet's hidden states
stay within cosine 0.998 of the original's, and the teacher is fine-tuned afterwards.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

SMALL = [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
]


def pack(src: Path, prefix: str, n: int) -> None:
    weights = load_file(str(src / "model.safetensors"))
    groups: list[list[str]] = [[] for _ in range(n)]
    sizes = [0] * n
    for name in sorted(weights, key=lambda x: -weights[x].numel()):  # parts of equal size
        k = sizes.index(min(sizes))
        groups[k].append(name)
        sizes[k] += weights[name].numel()
    for k, names in enumerate(groups):
        out = {}
        for name in names:
            w = weights[name].float()
            if w.dim() == 2 and w.numel() > 100_000:
                scale = w.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127
                out[name + ".q8"] = torch.round(w / scale).to(torch.int8)
                out[name + ".scale"] = scale
            else:
                out[name] = w.to(torch.float16)
        part = Path(f"{prefix}{k + 1}")
        part.mkdir(parents=True, exist_ok=True)
        save_file(out, str(part / "part.safetensors"))
        if k == 0:
            for f in SMALL:
                if (src / f).exists():
                    shutil.copy(src / f, part / f)


def unpack(dest: Path, parts: list[Path]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    weights = {}
    for part in parts:
        tensors = load_file(str(part / "part.safetensors"))
        for name, t in tensors.items():
            if name.endswith(".q8"):
                weights[name[:-3]] = t.float() * tensors[name[:-3] + ".scale"]
            elif not name.endswith(".scale"):
                weights[name] = t.float()
        for f in SMALL:
            if (part / f).exists():
                shutil.copy(part / f, dest / f)
    save_file(weights, str(dest / "model.safetensors"), metadata={"format": "pt"})
    print(f"unpacked {len(weights)} tensors into {dest}")


if __name__ == "__main__":
    if sys.argv[1] == "pack":
        pack(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        unpack(Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]])
