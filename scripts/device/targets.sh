#!/usr/bin/env bash
# usage: targets.sh DEVICE TRAIN DEV RUNS OUTDIR EPOCHS [MINED_JSON]
#   -> RUNS/targets/targets/epoch-K.npz for the first EPOCHS epochs of the student's
#      windows, taught by RUNS/teacher/best; OUTDIR gets them as 15 MB pieces (a call
#      brings back at most 8 files of 16 MiB). Here, afterwards:
#      cat OUT/targets.part-* | tar xz -C runs/ && rag train-reader TRAIN --validation DEV \
#        --init rag/models/reader --teacher-targets runs/targets/targets --seed $SEED \
#        --epochs EPOCHS  (with the same KINDS and window options as below) --resume ...
set -uo pipefail
DEVICE=$1 TRAIN=$2 DEV=$3 RUNS=$4 OUTDIR=$5 EPOCHS=$6 MINED=${7:-}
source scripts/device/common.sh
mkdir -p "$OUTDIR" "$RUNS/targets"
while [ ! -f "$RUNS/teacher.done" ]; do sleep 2; done
[ -f "$RUNS/teacher/best/model.safetensors" ] || { echo "no teacher"; exit 1; }
RETRIEVED=(--retrieved-negatives 0)
if [ -n "$MINED" ]; then  # the student's windows hold retrieved negatives: reuse its mining
  gunzip -c "$MINED" > "$RUNS/targets/retrieved-negatives.json" 2>/dev/null \
    || cp "$MINED" "$RUNS/targets/retrieved-negatives.json"
  RETRIEVED=(--retrieved-negatives 0.15)
fi
T0=$(date +%s)
RAG_EMBEDDING_MODEL=$PWD/rag/models/reader rag train-reader "$TRAIN" --validation "$DEV" \
  --device "$DEVICE" --batch-size ${BS:-256} --seed ${SEED:-37} "${KINDS[@]}" "${RETRIEVED[@]}" \
  --answer-removed 0.15 --teacher "$RUNS/teacher/best" --write-targets "$EPOCHS" \
  --output "$RUNS/targets"
echo "targets rc=$? after $(( $(date +%s) - T0 )) s"
tar czf - -C "$RUNS" --exclude retrieved-negatives.json targets | split -b 15000000 - "$OUTDIR/targets.part-"
ls -la "$OUTDIR"
