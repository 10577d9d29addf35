"""Reproduce a parameter profile over several seeds, outside the DVC workspace.

The study reported the best of 10 runs; ``dpforecast study`` trains one architecture
under a profile (``paper`` by default) for several seeds, tracks every run in the
project's MLflow store, and reports each seed's test errors, the best, and the time.
Every seed is fitted in memory on the validated series (:mod:`dpforecast.experiments.network_run`).
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import polars as pl
import torch

from dpforecast.api.dataset import validated_series
from dpforecast.config import deep_merge, load_params
from dpforecast.experiments.network_run import train_network
from dpforecast.runtime.io import write_json
from dpforecast.runtime.paths import Paths
from dpforecast.runtime.project import lineage


def run_study(
    root: Path, profile: str, model: str, seeds: list[int], track: bool = True,
    overrides: dict[str, Any] | None = None, name: str | None = None, series: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """``overrides`` (nested, as in params.yaml) apply on top of the profile; ``series``: the
    data set's validated series (default: its files under ``root``, validated in memory).
    Each seed's model folder goes to ``artifacts/study/<name or profile>/<model>-seed<seed>/``."""
    params = load_params(root / "params.yaml", profile=profile, **deep_merge({"train": {"model": model}}, overrides or {}))
    folder = root / "artifacts" / "study" / (name or profile)
    series = validated_series(params, root) if series is None else series
    tags = {**lineage(Paths(root), params), "study": profile}
    runs = []
    windows: dict[str, int] = {}
    start = time.perf_counter()
    for seed in seeds:
        result, holdout = train_network(root, params, model, seed, series, folder / "models" / f"{model}-seed{seed}",
                                        track, tags)
        windows = holdout.windows
        runs.append({"seed": seed, "rmse": result.test["rmse"], "mae": result.test["mae"],
                     "privacy": result.privacy.summary(),
                     "train_seconds": result.train_seconds, "epochs_run": result.epochs_run,
                     "mlflow_run_id": result.mlflow_run_id, "model_dir": str(result.folder)})
    best = min(runs, key=lambda r: r["rmse"]["mean"])
    summary = {
        "profile": profile,
        "model": model,
        "windows": windows,
        "hyper": dict(zip(("units", "batch_size", "learning_rate"), params.hyper(model), strict=True)),
        "runs": runs,
        "best_seed": best["seed"],
        "best_mean_rmse": best["rmse"]["mean"],
        "best_mean_mae": best["mae"]["mean"],
        "total_seconds": round(time.perf_counter() - start, 1),
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                    "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
                    "torch": torch.__version__},
    }
    write_json(folder / f"{model}.json", summary)
    return summary


def study_table(summary: dict[str, Any]) -> str:
    lines = ["| seed | mean RMSE | mean MAE | epochs | seconds |", "| --- | --- | --- | --- | --- |"]
    for r in summary["runs"]:
        lines.append(f"| {r['seed']} | {r['rmse']['mean']:.1f} | {r['mae']['mean']:.1f} | "
                     f"{r['epochs_run']} | {r['train_seconds']:.0f} |")
    lines.append(f"best: seed {summary['best_seed']}, mean RMSE {summary['best_mean_rmse']:.1f}, "
                 f"mean MAE {summary['best_mean_mae']:.1f}; {summary['total_seconds']:.0f} s in all")
    return "\n".join(lines)
