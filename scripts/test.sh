#!/usr/bin/env bash
# Install the project with its test extras into .venv and run the whole test suite
# (slow tests, which load the real models and start real servers, included).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
exec .venv/bin/python -m pytest -m "slow or not slow" "$@"
