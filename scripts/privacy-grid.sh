#!/usr/bin/env bash
# The study's four privacy settings as queued DVC experiments (BiGRU, `paper` profile),
# run one at a time, then compared with `dvc exp show`.
#
#   bash scripts/privacy-grid.sh ip    # input perturbation at the study's four epsilons
#   bash scripts/privacy-grid.sh gp    # DP-SGD at the study's four noise multipliers (hours on a CPU)
#   bash scripts/privacy-grid.sh all
#
# IP uses the classic Gaussian mechanism and the study's re-tuned BiGRU hyper-parameters
# for each epsilon (Table 3 of arcolezi2022). DP-SGD uses noise multipliers 35, 70, 140 and
# 500 with clipping norm 1; the report states the epsilon the accountants compute for them,
# beside the figure the study printed. Every experiment is tracked in, and charged to, this
# workspace's MLflow store and privacy ledger (DVC_ROOT, see dpforecast.runtime.project.state_root).
# One job at a time: the embedded MLflow store is SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-ip}"
dvc=.venv/bin/dvc
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
base=(-S profile=paper -S train.model=bigru)

queue_ip() {
  # epsilon units batch learning-rate
  while read -r eps units batch lr; do
    "$dvc" exp run --queue --name "ip-eps${eps}" "${base[@]}" -S privacy.mode=ip \
      -S privacy.ip.mechanism=discrete_gaussian -S "privacy.epsilon=${eps}" \
      -S "architectures.bigru.units=${units}" -S "++architectures.bigru.batch_size=${batch}" \
      -S "++architectures.bigru.learning_rate=${lr}"
  done <<'GRID'
0.065 200 5 0.001993
0.0399 275 5 0.001182
0.0357 200 10 0.001333
0.0317 200 10 0.000842
GRID
}

queue_gp() {
  for sigma in 35 70 140 500; do
    "$dvc" exp run --queue --name "gp-noise${sigma}" "${base[@]}" -S privacy.mode=gp \
      -S "privacy.gp.noise_multiplier=${sigma}" -S privacy.gp.max_grad_norm=1.0
  done
}

case "$what" in
  ip) queue_ip ;;
  gp) queue_gp ;;
  all) queue_ip; queue_gp ;;
  *) echo "usage: $0 ip|gp|all" >&2; exit 2 ;;
esac
"$dvc" exp run --run-all --jobs 1
"$dvc" exp show --no-pager --drop '.*' \
  --keep 'Experiment|^privacy\.(mode|epsilon)$|^privacy\.gp\.noise_multiplier$|bigru\.(rmse|mae|epsilon|delta)$'
