#!/usr/bin/env bash
# Installs a3agent (editable) with the given extras into the active Python environment.
# torch is pinned to the CPU-capable 2.13.0 only when no torch is installed yet, so an
# existing CUDA build is never replaced. Usage: bash scripts/install.sh [test|bench|test,bench]
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q --upgrade pip
python -c "import torch" 2>/dev/null || python -m pip install -q "torch==2.13.0"
extras="${1:-}"
if [ -n "$extras" ]; then
  python -m pip install -q -e ".[$extras]"
else
  python -m pip install -q -e .
fi
