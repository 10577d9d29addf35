#!/usr/bin/env bash
# The GPU check in one go, on a machine with an NVIDIA GPU and no network (under 8 minutes):
#   1. CUDA is visible to PyTorch (stops here if not);
#   2. benchmarks/train_step.py on CUDA: cuDNN plain step against the DP-SGD step of our
#      engine and of Opacus's hooks, for the study's sizes and the defaults;
#   3. the paper profile's BiGRU, seconds per epoch on CUDA and on the CPU, in one process.
#
#   bash benchmarks/gpu.sh prepare   # here, before: what the GPU machine lacks, into benchmarks/.gpu/
#   bash benchmarks/gpu.sh           # there: results in $OUT (default benchmarks/.gpu/out)
#
# "prepare" copies Opacus (pure Python, from .venv) and saves the study's training windows
# (they need the pipeline's data stack to build), so the GPU machine needs only a CUDA
# build of PyTorch: its own python3, or PYTHON=.venv/bin/python for a venv with a CUDA build
# of torch 2.13.0 (README, "GPU"). Carry benchmarks/.gpu with the tree (it is git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
GPU_DIR=benchmarks/.gpu

if [ "${1:-}" = prepare ]; then
  mkdir -p "$GPU_DIR/site"
  site=$(.venv/bin/python -c "import opacus, pathlib; print(pathlib.Path(opacus.__file__).parent)")
  rm -rf "$GPU_DIR/site/opacus" && cp -r "$site" "$GPU_DIR/site/opacus"
  find "$GPU_DIR/site" -name __pycache__ -prune -exec rm -rf {} +
  .venv/bin/python benchmarks/epoch_time.py --save-windows "$GPU_DIR/study_windows.npz"
  du -sh "$GPU_DIR"
  exit 0
fi

PY=${PYTHON:-python3}
OUT=${OUT:-$GPU_DIR/out}
mkdir -p "$OUT"
[ -f "$GPU_DIR/study_windows.npz" ] || { echo "run 'bash benchmarks/gpu.sh prepare' first, on the machine with .venv" >&2; exit 2; }
# Our package from source; Opacus from the prepared copy unless this Python has it.
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c "import opacus" 2>/dev/null || export PYTHONPATH="$PYTHONPATH:$PWD/$GPU_DIR/site"
export PYTHONUNBUFFERED=1
threads=$(nproc)

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$OUT/gpu.txt" || true
"$PY" - <<'PY' 2>&1 | tee -a "$OUT/gpu.txt"
import sys, torch
ok = torch.cuda.is_available()
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
      f"visible: {ok}" + (f", {torch.cuda.get_device_name(0)}" if ok else ""))
sys.exit(0 if ok else 1)
PY

echo "== train_step.py on CUDA"
timeout 300 "$PY" benchmarks/train_step.py --device cuda --threads "$threads" 2>&1 | tee "$OUT/train_step_cuda.md"
echo "== paper BiGRU per epoch, CUDA and CPU"
timeout 150 "$PY" benchmarks/epoch_time.py --windows "$GPU_DIR/study_windows.npz" --devices cuda,cpu --epochs 2 --opacus \
  2>&1 | tee "$OUT/epoch_time.md"
echo "results in $OUT"
