#!/usr/bin/env bash
# Install the project with its test extras into .venv and run the whole test suite
# (slow tests, which load the real models and start real servers, included).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
# The page tests drive the Debian chromium through Playwright (no browser download); the
# OCR tests read scans with Debian's tesseract-ocr. One apt-get call installs what is missing.
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v tesseract >/dev/null 2>&1 || missing="$missing tesseract-ocr"
if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
fi
# Two workers (one per core here): half the suite waits on child processes starting;
# a test module stays on one worker, so its shared fixtures are built once. Modules are
# handed out in collection order, the slowest first (tests/conftest.py), not by count.
exec .venv/bin/python -m pytest -n auto --maxprocesses 4 --dist loadscope --no-loadscope-reorder \
    --durations=25 "$@"
