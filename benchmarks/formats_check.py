"""Index a folder of sample files offline with the real pipeline and ask each sample's
question: is the answer right, and does its first citation name the right ``location``?

``python -m benchmarks.formats_check [FOLDER] [--per-format 10] [--seed 0]`` writes the
office samples (:func:`benchmarks.samples_office.make_samples`) into FOLDER (a temporary
one by default), indexes them through the parse workers and prints one line per miss and
the share right per format; :func:`check` does the same for any list of samples.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

from benchmarks.samples import Sample


def _right(answer: str | None, expected: str) -> bool:
    """The answer, normalised as SQuAD scores it, is the expected one."""
    from rag.evaluation.squad import normalize_answer

    return answer is not None and normalize_answer(answer) == normalize_answer(expected)


def judge(pipeline, sample: Sample) -> dict:
    """One sample asked: its answer, the first citation's location, and whether each is
    right (a location counts where the first answer's first source names it)."""
    result = pipeline.ask(sample.question)
    first = result.answers[0] if result.answers else None
    location = getattr(first.sources[0], "location", None) if first and first.sources else None
    return {
        "file": sample.path.name,
        "question": sample.question,
        "expected": sample.answer,
        "answer": result.answer,
        "location": location,
        "expected_location": sample.location,
        "answer_right": _right(result.answer, sample.answer),
        "location_right": location == sample.location,
    }


def check(samples: list[Sample], index_dir: Path, pipeline=None) -> dict:
    """Index every sample's file (one folder or several) and judge each sample; the
    per-format shares right and every miss. ``pipeline``: a loaded one to reuse."""
    from rag.core.settings import Settings
    from rag.service.pipeline import Pipeline

    own = pipeline is None
    if own:
        pipeline = Pipeline(Settings(docs_dir=index_dir / "none", index_dir=index_dir))
        pipeline.load()
    try:
        _, errors = pipeline.index_paths(sorted({s.path for s in samples}))
        verdicts = [judge(pipeline, s) for s in samples]
    finally:
        if own:
            pipeline.close()
    shares: dict[str, dict] = defaultdict(lambda: {"files": 0, "answer": 0, "both": 0})
    for v in verdicts:
        share = shares[Path(v["file"]).suffix.lstrip(".")]
        share["files"] += 1
        share["answer"] += v["answer_right"]
        share["both"] += v["answer_right"] and v["location_right"]
    misses = [v for v in verdicts if not (v["answer_right"] and v["location_right"])]
    right = sum(s["both"] for s in shares.values())
    return {
        "formats": dict(shares),
        "right": right,
        "total": len(verdicts),
        "share": right / max(len(verdicts), 1),
        "errors": errors,
        "misses": misses,
    }


def main() -> None:
    from benchmarks.samples_office import make_samples

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--per-format", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or Path(scratch) / "samples"
        samples = make_samples(folder, args.per_format, args.seed)
        report = check(samples, Path(scratch) / "index")
    for miss in report["misses"]:
        print(json.dumps(miss, ensure_ascii=False))
    for kind, share in report["formats"].items():
        print(f"{kind}: {share['both']}/{share['files']} right with location "
              f"({share['answer']} answers right)")  # fmt: skip
    print(f"all: {report['right']}/{report['total']} ({report['share']:.1%}); "
          f"files refused: {len(report['errors'])}")  # fmt: skip


if __name__ == "__main__":
    main()
