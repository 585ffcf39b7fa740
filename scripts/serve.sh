#!/usr/bin/env bash
# Install the project into .venv and serve the seeds on http://127.0.0.1:8000
# (the index is built on first start). Extra arguments go to `rag serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
# Scanned PDFs are read by Debian's tesseract-ocr; without it they are refused, nothing else.
if ! command -v tesseract >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    { $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q tesseract-ocr; } || echo "warning: tesseract-ocr not installed" >&2
fi
exec .venv/bin/rag serve "$@"
