# sourced by teacher.sh and student.sh: the rag CLI from this checkout (wheels carried to SITE)
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=true
export PYTHONPATH=$PWD${SITE:+:$SITE}
PY=${PY:-python3}
rag() { $PY -c 'import sys; from rag.cli import main; sys.argv[0]="rag"; main()' "$@"; }
KINDS=(--negatives 0.3 --lexical-negatives 0.15 --retrieved-negatives 0 --changed-questions 0.15 --distractors 0.15)
