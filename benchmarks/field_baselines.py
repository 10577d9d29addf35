"""The field's baselines on the real data: their cost and their test scores beside seasonal naive.

Issue 20's measurement: for each data set and horizon (the default profile's one step, the
``day-ahead`` profile's 24 hours), fit every field baseline (``evaluate.baselines``'
choices: AutoETS, MSTL, AutoARIMA, Fracast-0) exactly as the evaluate stage does, time its
fit and forecasts, and score it with seasonal naive (one day back) on the test windows:
MASE, MAE, RMSE and interval coverage. Non-private; nothing is tracked. ``--every k``
forecasts the zero-shot model at every k-th test origin only (its CPU cost), seasonal naive
scored on the same origins beside it.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/field_baselines.py --datasets montreuil auckland \\
        --profiles default day-ahead --baselines autoets mstl fracast --every 4

Writes ``artifacts/study/field-baselines-<dataset>-<profile>/benchmark.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dpforecast.config import load_params  # noqa: E402
from dpforecast.evaluation.baselines import (  # noqa: E402
    FIELD_BASELINES,
    baseline_forecasts,
    field_forecasts,
    in_sample_seasonal_mae,
)
from dpforecast.evaluation.scores import OwnIntervals, score  # noqa: E402
from dpforecast.experiments.study import prepare_workspace  # noqa: E402
from dpforecast.features.windows import window_arrays  # noqa: E402
from dpforecast.runtime.io import write_json  # noqa: E402
from dpforecast.runtime.paths import Paths  # noqa: E402


def run(dataset: str, profile: str, names: list[str], every: int) -> list[dict[str, Any]]:
    params = load_params(ROOT / "params.yaml", profile=profile, dataset=dataset)
    work = Paths(ROOT / "artifacts" / "study" / f"field-baselines-{dataset}-{profile}", tracking_root=ROOT)
    prepare_workspace(ROOT, params, work)
    table, windows, targets = (pl.read_parquet(p) for p in (work.feature_table, work.windows, work.targets))
    zones = list(targets.columns)
    w, h, minutes = params.features.window, params.features.horizon, params.data_set.interval_minutes
    _, y = window_arrays(table, windows, "test", w, h, zones, targets=targets)
    scale = in_sample_seasonal_mae(pl.concat([table.select("timestamp"), targets], how="horizontal"), windows, zones,
                                   minutes)
    naive = baseline_forecasts(table, windows, w, h, zones, minutes)[0]["seasonal_day"]
    rows = []
    for name in names:
        test = windows
        if name == "fracast" and every > 1:  # every k-th test origin (CPU cost), naive on the same
            test_rows = windows.filter(pl.col("split") == "test").with_row_index("i").filter(pl.col("i") % every == 0)
            test = pl.concat([windows.filter(pl.col("split") != "test"), test_rows.drop("i")])
        picked = np.arange(len(y)) if test is windows else np.arange(0, len(y), every)
        began = time.perf_counter()
        fitted = field_forecasts(table, test, w, h, zones, minutes, [name])[name]
        seconds = time.perf_counter() - began
        own = OwnIntervals(fitted.forecast.bounds, fitted.forecast.source, False)
        s = score(y[picked], fitted.forecast.mean, zones, scale, own)
        base = score(y[picked], naive[picked], zones, scale)
        rows.append({"dataset": dataset, "profile": profile, "horizon": h, "baseline": name, "seconds": round(seconds, 1),
                     "fit_seconds": round(fitted.summary.seconds, 1), "windows": s["windows"], "every": every if name == "fracast" else 1,
                     "mase": s["mase"]["mean"], "mae": s["mae"]["mean"], "rmse": s["rmse"]["mean"],
                     "seasonal_day_mase": base["mase"]["mean"], "seasonal_day_mae": base["mae"]["mean"],
                     "seasonal_day_windows": base["windows"],
                     "coverage": {k: v["coverage"] for k, v in s.get("coverage", {}).items()},
                     "models": fitted.summary.details.get("models")})
        print(rows[-1], flush=True)
    write_json(work.root / "benchmark.json", {"rows": rows})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["montreuil"])
    parser.add_argument("--profiles", nargs="+", default=["default", "day-ahead"])
    parser.add_argument("--baselines", nargs="+", default=list(FIELD_BASELINES), choices=list(FIELD_BASELINES))
    parser.add_argument("--every", type=int, default=1)
    args = parser.parse_args()
    rows = [r for d in args.datasets for p in args.profiles for r in run(d, p, args.baselines, args.every)]
    print("| data set | horizon | baseline | seconds | windows | MASE | seasonal naive MASE (same windows) | MAE | "
          "cover 80% | cover 95% |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        cover = r["coverage"]
        print(f"| {r['dataset']} | {r['horizon']} | {r['baseline']} | {r['seconds']:.1f} | {r['windows']} | "
              f"{r['mase']:.3f} | {r['seasonal_day_mase']:.3f} | {r['mae']:.1f} | "
              f"{cover.get('80', float('nan')):.3f} | {cover.get('95', float('nan')):.3f} |")


if __name__ == "__main__":
    main()
