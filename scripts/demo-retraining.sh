#!/usr/bin/env bash
# The retraining demo of the README: replayed days, sensor and schedule runs, a refused
# day, champion decisions, and dvc checkout of the first data version. About 10 minutes
# on 2 cores. Optional argument: the folder to build the demo in.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh >/dev/null
.venv/bin/dvc pull -q data.dvc
exec .venv/bin/python scripts/demo_retraining.py "$@"
