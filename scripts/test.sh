#!/usr/bin/env bash
# Lint and run the whole test suite offline on the CPU. Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${HW4_VENV:-.venv}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export HW4_CACHE_DIR=${HW4_CACHE_DIR:-$PWD/.hw4-cache}
"$VENV/bin/ruff" check .
"$VENV/bin/python" -m pytest "$@"
