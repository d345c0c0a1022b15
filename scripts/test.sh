#!/usr/bin/env bash
# Lint, type-check, check the import contracts and run the whole test suite offline on the CPU. Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${HW4_VENV:-.venv}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export HW4_CACHE_DIR=${HW4_CACHE_DIR:-$PWD/.hw4-cache}
"$VENV/bin/ruff" check .
"$VENV/bin/mypy"  # [tool.mypy] in pyproject.toml: hw4, autograder, solutions
"$VENV/bin/lint-imports" --no-logo  # [tool.importlinter]: the layering, no import cycles
"$VENV/bin/python" -m pytest "$@"
