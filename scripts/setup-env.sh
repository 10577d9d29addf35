#!/usr/bin/env bash
# Creates .venv with the pinned stack and points DVC at a local remote. Idempotent.
#   PYTHON           interpreter to build the venv with (default: python3.11)
#   DPFORECAST_DVC_REMOTE  folder of the local DVC remote (default: ~/.cache/dpforecast/dvc-remote)
# GPU: install your CUDA build of torch 2.13.0 into .venv before running this script
# (see README, "GPU"); a torch 2.13.0 that is already installed is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0" 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -m pip install -q -e ".[test]" 2>&1 | grep -v '^WARNING: Location' || true
# statsforecast without its pandas<3 pin (pyproject.toml lists its other requirements and says why).
.venv/bin/python -m pip install -q --no-deps "statsforecast==2.1.1" 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c "import torch, dpforecast; print(f'environment ready: torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}')"

# The default DVC remote is a local folder shared by every clone on this machine.
remote=${DPFORECAST_DVC_REMOTE:-$HOME/.cache/dpforecast/dvc-remote}
mkdir -p "$remote"
.venv/bin/dvc remote add --local --default --force local "$remote" >/dev/null
