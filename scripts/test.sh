#!/usr/bin/env bash
# Sets up the environment if needed, then runs the default (fast) test suite.
# Extra arguments go to pytest; `bash scripts/test.sh -m slow` runs the slow job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh
.venv/bin/dvc pull -q data.dvc  # the tests read the real data set
exec .venv/bin/python -m pytest "$@"
