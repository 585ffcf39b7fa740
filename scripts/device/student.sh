#!/usr/bin/env bash
# usage: student.sh DEVICE TRAIN DEV RUNS OUT DEADLINE_EPOCH_S MAX_MIN
set -uo pipefail
DEVICE=$1 TRAIN=$2 DEV=$3 RUNS=$4 OUTDIR=$5 DEADLINE=$6 SMAX=$7
source scripts/device/common.sh
mkdir -p "$OUTDIR"
while [ ! -f "$RUNS/teacher.done" ]; do sleep 2; done
echo "teacher done at $(date +%s); deadline $DEADLINE"
grep -h '"val_f1"\|threshold' "$RUNS/teacher/training_log.jsonl"
cp "$RUNS/teacher/training_log.jsonl" "$OUTDIR/teacher_log.jsonl" 2>/dev/null
cp "$RUNS/teacher/best/scores.json" "$OUTDIR/teacher_scores.json" 2>/dev/null
[ -f "$RUNS/teacher/best/model.safetensors" ] || { echo "no teacher"; exit 1; }
# keep ~150 s for building the windows, the final validations, calibration and packing
SMIN=$($PY -c "import time; print(round(max(0.3, min($SMAX, ($DEADLINE - time.time() - ${RESERVE:-150}) / 60)), 2))")
echo "student minutes: $SMIN"
RAG_EMBEDDING_MODEL=$PWD/rag/models/reader rag train-reader "$TRAIN" --validation "$DEV" --max-val-questions ${VALQ:-1000} \
  --device "$DEVICE" --batch-size ${SBS:-64} --lr ${SLR:-3e-5} --minutes "$SMIN" --eval-every 100 --seed 29 \
  "${KINDS[@]}" --answer-removed 0.15 --init rag/models/reader --teacher "$RUNS/teacher/best" \
  --distill-weight ${DW:-0.5} --temperature ${TEMP:-2} --output "$RUNS/student" 2>&1 | grep -v '"loss"'
echo "student rc=${PIPESTATUS[0]}"
B=$RUNS/student/best
split -b 15000000 "$B/model.safetensors" "$OUTDIR/model.part-"
tar czf "$OUTDIR/meta.tgz" -C "$RUNS" --exclude model.safetensors --exclude candidate --exclude resume.pt \
  --exclude retrieved-negatives.json student teacher/training_log.jsonl teacher/best/scores.json teacher/best/training.json
cp /tmp/teacher.log "$OUTDIR/" 2>/dev/null; ls -la "$OUTDIR"
