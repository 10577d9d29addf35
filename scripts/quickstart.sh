#!/usr/bin/env bash
# One command from a fresh clone: environment, data, the whole pipeline, where to look.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup-env.sh
# The raw data comes back from the DVC remote shipped in dvcstore/ (data.dvc names it).
.venv/bin/dvc pull data.dvc
.venv/bin/dvc repro   # the stages run with .venv's Python (pipelines/python.sh)
.venv/bin/dvc push -q || echo "warning: dvc push to the local remote failed"
echo
echo "Test-week metrics (dvc metrics show):"
.venv/bin/dvc metrics show
echo
echo "BiGRU: non-private, input perturbation and DP-SGD at epsilon 1 (dpforecast variants):"
.venv/bin/dpforecast variants --model bigru --epsilon 1
echo
echo "The data set's privacy ledger (dpforecast ledger; outside this clone, shared by every clone):"
.venv/bin/dpforecast ledger
echo
echo "White-box canary audit of DP-SGD on public data at claims 1, 4 and 8 per event (dpforecast audit):"
.venv/bin/dpforecast audit --model bigru
echo
echo "The BiGRU champion's forecast for the interval after examples/window.csv (dpforecast predict):"
PATH="$PWD/.venv/bin:$PATH" .venv/bin/dpforecast predict --model models:/mobility-bigru@champion --input examples/window.csv
cat <<MSG

Done in $(( $(date +%s) - start )) s. Where to look:
  metrics and plots:  .venv/bin/dvc metrics show; .venv/bin/dvc plots show (writes dvc_plots/index.html)
  MLflow UI:          .venv/bin/mlflow ui --backend-store-uri sqlite:///$PWD/mlflow.db   (http://127.0.0.1:5000)
  Dagster UI:         DAGSTER_HOME=$PWD/dagster_home .venv/bin/dagster dev   (http://127.0.0.1:3000)
  trained models:     models/<architecture>/ (weights, description, history, test metrics)
  registered models:  mobility-<architecture> in MLflow, aliases champion and challenger
  day-ahead:          .venv/bin/dvc exp run -S profile=day-ahead   (next 24 h, mobility-h48-*)
  backtest:           .venv/bin/dpforecast backtest --folds 3 --step-days 7 --model gru --model bigru
MSG
