#!/usr/bin/env bash
# usage: teacher.sh DEVICE TRAIN DEV MPNET_DIR RUNS MINUTES   -> RUNS/teacher, RUNS/teacher.done
set -uo pipefail
DEVICE=$1 TRAIN=$2 DEV=$3 MPNET=$4 RUNS=$5 MIN=$6
source scripts/device/common.sh
mkdir -p "$RUNS"
T0=$(date +%s)
RAG_EMBEDDING_MODEL=$MPNET rag train-reader "$TRAIN" --validation "$DEV" --max-val-questions ${VALQ:-1000} \
  --device "$DEVICE" --batch-size ${TBS:-64} --lr ${TLR:-5e-5} --minutes "$MIN" --eval-every 100 --seed 23 \
  "${KINDS[@]}" --output "$RUNS/teacher" 2>&1 | grep -v '"loss"'
echo "teacher rc=${PIPESTATUS[0]} after $(( $(date +%s) - T0 )) s"
touch "$RUNS/teacher.done"
