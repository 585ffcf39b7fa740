"""Add-one ablation of the no-answer kinds of ``rag train-reader``.

The shipped reader learnt "not here" from five kinds of pair at once. What each kind
adds on its own is measured here: from one reader trained without any of the new kinds
(other-paragraph pairs only), short runs of equal length continue training, each with
other-paragraph pairs plus one kind (a control arm adds none), on the same sample of
train articles, with the same seed, schedule and validation. Every arm is then scored
by ``scripts/compare_readers.py`` on the validation file, next to the starting reader.

    python scripts/ablate_negatives.py BASE_READER TRAIN.json DEV.json OUT \\
        [--minutes 15] [--articles 0.25] [--mined FULL_RUN/retrieved-negatives.json]

Finished arms (their ``best/training.json`` exists) are kept, so an interrupted
ablation goes on where it stopped. ``--mined`` reuses the retrieved negatives of a
full run (filtered to the sample) instead of mining the sample again.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

from rag.evaluation import squad
from rag.training import mining

#: Arm name → the share of its one extra kind (other-paragraph pairs stay at 0.3).
ARMS: dict[str, dict[str, float]] = {
    "control": {},
    "lexical": {"lexical_negatives": 0.15},
    "retrieved": {"retrieved_negatives": 0.15},
    "changed": {"changed_questions": 0.15},
    "distractors": {"distractors": 0.15},
    "answer-removed": {"answer_removed": 0.15},
}
KINDS = sorted({kind for extra in ARMS.values() for kind in extra})


def sample_articles(train: Path, share: float, seed: int, out: Path) -> None:
    """Write a SQuAD file with a random ``share`` of the train articles."""
    data = json.loads(train.read_text(encoding="utf-8"))
    articles = data["data"]
    kept = random.Random(seed).sample(articles, max(1, round(share * len(articles))))
    out.write_text(json.dumps({"version": data.get("version", "1.1"), "data": kept}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="reader to continue from (trained without the kinds)")
    parser.add_argument("train", type=Path)
    parser.add_argument("dev", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--articles", type=float, default=0.25)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--mined", type=Path)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compare-limit", type=int, default=2000)
    parser.add_argument("--arms", nargs="*", default=list(ARMS), choices=list(ARMS))
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    subset = args.out / "train-sample.json"
    sample_articles(args.train, args.articles, args.seed, subset)
    examples = squad.load([subset])
    print(f"{len(examples)} questions in the sample", flush=True)
    for arm in args.arms:
        run = args.out / arm
        if (run / "best" / "training.json").is_file():
            print(f"{arm}: done before, kept", flush=True)
            continue
        shares = {kind: 0.0 for kind in KINDS} | ARMS[arm]
        if arm == "retrieved" and args.mined is not None:
            full = mining.load(args.mined)
            kept = {e.id: full[e.id] for e in examples if e.id in full}
            mining.save(run / "retrieved-negatives.json", examples, kept)
        command = [
            sys.executable, "-m", "rag", "train-reader", str(subset),
            "--validation", str(args.dev), "--output", str(run), "--init", args.base,
            "--minutes", str(args.minutes), "--lr", str(args.lr), "--batch-size", "32",
            "--seed", str(args.seed), "--ema", "0", "--max-val-questions", "1000",
            "--eval-every", str(args.minutes * 2), "--device", args.device,
        ]  # fmt: skip
        for kind, share in shares.items():
            command += [f"--{kind.replace('_', '-')}", str(share)]
        if (run / "resume.pt").is_file():
            command.append("--resume")
        print(f"{arm}: {' '.join(command)}", flush=True)
        subprocess.run(command, check=True)
    readers = [args.base] + [str(args.out / arm / "best") for arm in args.arms]
    compare = Path(__file__).with_name("compare_readers.py")
    command = [sys.executable, str(compare), str(args.dev), args.device]
    subprocess.run([*command, str(args.compare_limit), *readers], check=True)


if __name__ == "__main__":
    main()
