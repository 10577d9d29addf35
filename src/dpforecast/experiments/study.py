"""Reproduce a parameter profile over several seeds, outside the DVC workspace.

The study reported the best of 10 runs; ``dpforecast study`` trains one architecture
under a profile (``paper`` by default) for several seeds, tracks every run in the
project's MLflow store, and reports each seed's test errors, the best, and the time.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import torch

from dpforecast.config import Params, deep_merge, load_params
from dpforecast.data.ingest import source_files
from dpforecast.runtime.io import write_json
from dpforecast.runtime.paths import Paths
from dpforecast.runtime.project import lineage
from dpforecast.stages.features import build_features
from dpforecast.stages.ingest import ingest
from dpforecast.stages.release import release
from dpforecast.stages.train import train_one
from dpforecast.stages.validate import validate


def prepare_series(root: Path, params: Params, work: Paths) -> None:
    """Ingest, validate and release ``params``' data set into ``work``: the series (and, in
    ``ip`` mode, its noisy release, charged like the project's) before any windowing."""
    base, *added = source_files(root, params.data_set)
    ingest(base, work.raw_table, added, params.data_set.layout.delimiter)
    validate(work.raw_table, work.series, work.validation_dir, params)
    release(work, params)


def prepare_workspace(root: Path, params: Params, work: Paths) -> dict[str, int]:
    """Ingest, validate, release and window ``params``' data set into ``work``; the
    windows per split."""
    prepare_series(root, params, work)
    return build_features(work, params)


def run_study(
    root: Path, profile: str, model: str, seeds: list[int], track: bool = True,
    overrides: dict[str, Any] | None = None, name: str | None = None,
) -> dict[str, Any]:
    """``overrides`` (nested, as in params.yaml) apply on top of the profile; the run's
    files go to ``artifacts/study/<name or profile>/``."""
    params = load_params(root / "params.yaml", profile=profile, **deep_merge({"train": {"model": model}}, overrides or {}))
    work = Paths(root / "artifacts" / "study" / (name or profile), tracking_root=root)
    project = Paths(root)
    counts = prepare_workspace(root, params, work)
    tags = {**lineage(project, params), "study": profile}
    runs = []
    start = time.perf_counter()
    for seed in seeds:
        result = train_one(work, params, model, out_dir=work.model_dir(f"{model}-seed{seed}"),
                           seed=seed, track=track, lineage=tags)
        runs.append({"seed": seed, "rmse": result.test["rmse"], "mae": result.test["mae"],
                     "privacy": result.privacy.summary(),
                     "train_seconds": result.train_seconds, "epochs_run": result.epochs_run,
                     "mlflow_run_id": result.mlflow_run_id,
                     "model_dir": str(work.model_dir(f"{model}-seed{seed}"))})
    best = min(runs, key=lambda r: r["rmse"]["mean"])
    summary = {
        "profile": profile,
        "model": model,
        "windows": counts,
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
    write_json(work.root / f"{model}.json", summary)
    return summary


def study_table(summary: dict[str, Any]) -> str:
    lines = ["| seed | mean RMSE | mean MAE | epochs | seconds |", "| --- | --- | --- | --- | --- |"]
    for r in summary["runs"]:
        lines.append(f"| {r['seed']} | {r['rmse']['mean']:.1f} | {r['mae']['mean']:.1f} | "
                     f"{r['epochs_run']} | {r['train_seconds']:.0f} |")
    lines.append(f"best: seed {summary['best_seed']}, mean RMSE {summary['best_mean_rmse']:.1f}, "
                 f"mean MAE {summary['best_mean_mae']:.1f}; {summary['total_seconds']:.0f} s in all")
    return "\n".join(lines)
