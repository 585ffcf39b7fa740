#!/usr/bin/env bash
# Install the project into .venv and serve the seeds on http://127.0.0.1:8000
# (the index is built on first start). Extra arguments go to `rag serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/rag serve "$@"
