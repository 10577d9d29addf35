#!/usr/bin/env bash
# Sets up the environment if needed, then runs the default (fast) test suite: synthetic and
# small shipped data, no `dvc pull`. Extra arguments go to pytest; a marked job
# (`-m slow`, `-m "real_data and not slow"`) first restores the real data sets with DVC.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh
case " $* " in
  *" -m "*) .venv/bin/dvc pull -q data.dvc ;;  # the marked jobs read the real data sets
esac
exec .venv/bin/python -m pytest "$@"
