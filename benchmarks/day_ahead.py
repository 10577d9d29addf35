"""Day-ahead forecasts against the baselines, per lead, with interval coverage, over seeds.

Issue 11's measurement: under the ``day-ahead`` profile (the next 24 hours from the last
24), train GRU and BiGRU for several seeds on each data set, and score them with
persistence, seasonal naive (day, week) and ridge on the same test windows and leads:
RMSE, MAE, skill over persistence, MASE, conformal coverage at 80% and 95%, and the RMSE
at a few leads. Non-private; nothing is tracked in MLflow.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/day_ahead.py --datasets montreuil auckland --seeds 3

How the profile was chosen: the same on the validation block, per ``train.residual``
(the test block is not read; early stopping sees the block's first half, so its scores are
slightly optimistic for every variant alike):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/day_ahead.py --block validation --seeds 1 --residual seasonal

Writes ``artifacts/study/day-ahead-<dataset>[-<residual>]/benchmark.json`` and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dpforecast.config import load_params  # noqa: E402
from dpforecast.evaluation.baselines import baseline_forecasts, in_sample_seasonal_mae  # noqa: E402
from dpforecast.evaluation.scores import score, skill  # noqa: E402
from dpforecast.features.windows import window_arrays  # noqa: E402
from dpforecast.models.store import load_forecaster, load_intervals  # noqa: E402
from dpforecast.runtime.io import write_json  # noqa: E402
from dpforecast.runtime.paths import Paths  # noqa: E402
from dpforecast.stages.train import train_one  # noqa: E402
from dpforecast.stages.workspace import build_workspace  # noqa: E402
from dpforecast.training.loop import predict  # noqa: E402

LEADS_SHOWN_HOURS = (0.5, 1, 3, 6, 12, 24)


def run(dataset: str, models: list[str], seeds: int, profile: str, block: str = "test",
        residual: str | None = None) -> dict[str, Any]:
    over = {} if residual is None else {"train": {"residual": {"true": True, "false": False}.get(residual, residual)}}
    params = load_params(ROOT / "params.yaml", profile=profile, dataset=dataset, **over)
    work = Paths(ROOT / "artifacts" / "study" / "-".join([profile, dataset, *([residual] if residual else [])]),
                 tracking_root=ROOT)
    counts = build_workspace(ROOT, params, work)
    table, windows = pl.read_parquet(work.feature_table), pl.read_parquet(work.windows)
    targets = pl.read_parquet(work.targets)
    zones = list(targets.columns)
    w, h, minutes = params.features.window, params.features.horizon, params.data_set.interval_minutes
    # The test block against the raw counts; the validation block as the models saw it.
    x, y = window_arrays(table, windows, block, w, h, zones, targets=targets if block == "test" else None)
    if block == "validation":  # the validation block in the test block's place (ridge: a fixed penalty)
        windows = windows.with_columns(pl.col("split").replace({"test": "unused", "validation": "test"}))
    forecasts, _ = baseline_forecasts(table, windows, w, h, zones, minutes)
    scale = in_sample_seasonal_mae(table, windows, zones, minutes)
    scores: dict[str, list[dict[str, Any]]] = {n: [score(y, f, zones, scale)] for n, f in forecasts.items()}
    seconds: dict[str, float] = {}
    for model in models:
        start = time.perf_counter()
        for seed in range(seeds):
            folder = work.model_dir(f"{model}-seed{seed}")
            train_one(work, params, model, out_dir=folder, seed=seed, track=False, progress=False)
            scores.setdefault(model, []).append(score(y, predict(load_forecaster(folder), x, "cpu"), zones, scale,
                                                      load_intervals(folder)))
        seconds[model] = round((time.perf_counter() - start) / seeds, 1)
    reference = scores["persistence"][0]["rmse"]["mean"]
    result = {"dataset": dataset, "profile": profile, "block": block, "residual": params.train.residual,
              "window": w, "horizon": h, "interval_minutes": minutes,
              "windows": counts, "seeds": seeds, "train_seconds_per_seed": seconds, "forecasters": {}}
    for name, runs in scores.items():
        result["forecasters"][name] = {
            "rmse": [r["rmse"]["mean"] for r in runs], "mae": [r["mae"]["mean"] for r in runs],
            "mase": [r["mase"]["mean"] for r in runs], "skill": [skill(r["rmse"]["mean"], reference) for r in runs],
            "rmse_by_lead": [statistics.fmean(v) for v in zip(*(r["by_lead"]["rmse"] for r in runs), strict=True)],
            "coverage_80": [r["coverage"]["80"]["coverage"] for r in runs if "coverage" in r],
            "coverage_95": [r["coverage"]["95"]["coverage"] for r in runs if "coverage" in r],
        }
    write_json(work.root / "benchmark.json", result)
    return result


def _mean(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3g}" if abs(values[0]) < 10 else f"{values[0]:.1f}"
    m, lo, hi = statistics.fmean(values), min(values), max(values)
    return f"{m:.3f} ({lo:.3f}-{hi:.3f})" if abs(m) < 10 else f"{m:.1f} ({lo:.1f}-{hi:.1f})"


def tables(result: dict[str, Any]) -> str:
    f, minutes = result["forecasters"], result["interval_minutes"]
    lines = [f"### {result['dataset']}, {result['block']} block: window {result['window']}, horizon "
             f"{result['horizon']}, train.residual {result['residual']} ({result['windows'][result['block']]} origins; "
             f"models: mean (min-max) over {result['seeds']} seeds)", "",
             "| forecaster | RMSE | MAE | skill | MASE | cover 80% | cover 95% |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, s in f.items():
        lines.append(f"| {name} | {_mean(s['rmse'])} | {_mean(s['mae'])} | {_mean([v for v in s['skill'] if v is not None])} "
                     f"| {_mean(s['mase'])} | {_mean(s['coverage_80'])} | {_mean(s['coverage_95'])} |")
    leads = [round(hours * 60 / minutes) for hours in LEADS_SHOWN_HOURS if hours * 60 >= minutes]
    leads = [k for k in leads if 1 <= k <= result["horizon"]]
    lines += ["", "| RMSE at lead | " + " | ".join(f"{k * minutes / 60:g} h" for k in leads) + " |",
              "| --- |" + " --- |" * len(leads)]
    for name, s in f.items():
        lines.append(f"| {name} | " + " | ".join(f"{s['rmse_by_lead'][k - 1]:.1f}" for k in leads) + " |")
    train = ", ".join(f"{m} {t:.0f} s" for m, t in result["train_seconds_per_seed"].items())
    lines += ["", f"Training time per seed: {train}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["montreuil", "auckland"])
    parser.add_argument("--models", nargs="+", default=["gru", "bigru"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--profile", default="day-ahead")
    parser.add_argument("--block", choices=["test", "validation"], default="test")
    parser.add_argument("--residual", choices=["false", "true", "seasonal"], help="train.residual over the profile's")
    args = parser.parse_args()
    for dataset in args.datasets:
        print(tables(run(dataset, args.models, args.seeds, args.profile, args.block, args.residual)), flush=True)
        print(flush=True)


if __name__ == "__main__":
    main()
