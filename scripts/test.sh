#!/usr/bin/env bash
# Sets up the environment if needed, then runs the default (fast) test suite: synthetic and
# small shipped data, no `dvc pull`. Extra arguments go to pytest; a marked job
# (`-m slow`, `-m "real_data and not slow"`) first restores the real data sets with DVC.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh
case " $* " in
  *" -m "*)  # a marked job: the real data sets, one test at a time (DVC repositories, kills, browsers)
    .venv/bin/dvc pull -q data.dvc
    exec .venv/bin/python -m pytest "$@" ;;
  *)  # the default suite, on both cores
    exec .venv/bin/python -m pytest -n 2 "$@" ;;
esac
