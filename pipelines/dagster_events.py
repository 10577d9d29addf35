"""The events a DVC stage's report writes: each asset it built, as a runless materialization.

Run by :func:`dagster_report.report` as a detached process (``python dagster_events.py
<stage> <root>``); :func:`report_now` does the same work in the caller. Each asset's
metadata is what the asset's own run would show (rows, windows, test errors, the privacy
guarantee, paths), read back from the files the stage wrote, with the tag
``dpforecast/built_by: dvc``.
"""

from __future__ import annotations

import fcntl
import json
import sys
from pathlib import Path

import dagster as dg
import polars as pl

from dpforecast.config import Params
from dpforecast.privacy.report import PrivacyReport
from dpforecast.runtime.paths import Paths
from dpforecast.runtime.project import load_project

#: The assets (of the project's graph, plain keys) each DVC stage builds.
STAGE_ASSETS = {"ingest": ["raw_mobility"], "validate": ["validated_series"], "release": ["released_series"],
                "features": ["features"], "evaluate": ["evaluation"], "register": ["registered_models"]}


def stage_assets(stage: str, params: Params) -> list[str]:
    if stage == "train":
        return [f"model_{arch}" for arch in params.models()]
    return STAGE_ASSETS[stage]


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _rows(path: Path) -> dict[str, dg.MetadataValue]:
    if not path.is_file():
        return {}
    rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    return {"dagster/row_count": dg.MetadataValue.int(rows), "path": dg.MetadataValue.path(str(path))}


def metadata(asset: str, paths: Paths, params: Params) -> dict[str, dg.MetadataValue]:
    """What the asset's own run attaches, read back from the stage's files."""
    spec = params.data_set
    if asset == "raw_mobility":
        return {**_rows(paths.raw_table), "dataset": dg.MetadataValue.text(spec.name),
                "zones": dg.MetadataValue.int(len(spec.zones)),
                "interval_minutes": dg.MetadataValue.int(spec.interval_minutes),
                "license": dg.MetadataValue.text(spec.source.license)}
    if asset == "validated_series":
        return _rows(paths.series)
    if asset == "released_series":
        release = _read(paths.release_metadata)
        return {"mode": dg.MetadataValue.text(str(release.get("mode", "none"))),
                "private": dg.MetadataValue.bool(bool(release.get("private", False))),
                "path": dg.MetadataValue.path(str(paths.release_dir))}
    if asset == "features":
        summary = _read(paths.feature_summary)
        return {**{f"windows_{split}": dg.MetadataValue.int(int(n)) for split, n in summary.get("windows", {}).items()},
                "modelled_zones": dg.MetadataValue.int(len(summary.get("modelled_zones", []))),
                "path": dg.MetadataValue.path(str(paths.feature_table.parent))}
    if asset.startswith("model_"):
        folder = paths.model_dir(asset.removeprefix("model_"))
        description, test = _read(folder / "model.json"), _read(folder / "metrics.json")
        out = {"path": dg.MetadataValue.path(str(folder))}
        if test:
            out["test_rmse_mean"] = dg.MetadataValue.float(float(test["rmse"]["mean"]))
            out["test_mae_mean"] = dg.MetadataValue.float(float(test["mae"]["mean"]))
        for key in ("best_epoch", "epochs_run"):
            if key in description:
                out[key] = dg.MetadataValue.int(int(description[key]))
        if description.get("mlflow_run_id"):
            out["mlflow_run_id"] = dg.MetadataValue.text(str(description["mlflow_run_id"]))
        if (folder / "privacy.json").is_file():
            out["privacy"] = dg.MetadataValue.text(PrivacyReport.from_json(_read(folder / "privacy.json")).summary())
        return out
    if asset == "evaluation":
        rmse = _read(paths.metric("rmse"))
        return {**{f"{name}_rmse_mean": dg.MetadataValue.float(float(v)) for name, v in rmse.items()
                   if isinstance(v, (int, float)) and name != "horizon"},
                "metrics": dg.MetadataValue.path(str(paths.details))}
    promotion = _read(paths.promotion_metrics)
    return {"decisions": dg.MetadataValue.json(promotion)} if promotion else {}


def report_now(stage: str, root: Path, home: Path) -> list[dg.AssetKey]:
    """Report ``stage``'s assets of the project at ``root`` to the instance in ``home``; the
    keys reported (none on any problem, said in one line)."""
    try:
        paths, params = load_project(root)
        with (home / ".dvc_report.lock").open("w") as lock:  # one reporter writes at a time
            fcntl.flock(lock, fcntl.LOCK_EX)
            return _write(stage, home, paths, params)
    except Exception as exc:  # noqa: BLE001 - reporting is a courtesy; the stage itself succeeded
        print(f"{stage}: not reported to Dagster ({type(exc).__name__}: {exc})", file=sys.stderr)
        return []


def _write(stage: str, home: Path, paths: Paths, params: Params) -> list[dg.AssetKey]:
    instance = dg.DagsterInstance.from_config(str(home))
    keys = []
    for asset in stage_assets(stage, params):
        key = dg.AssetKey(asset)
        instance.report_runless_asset_event(dg.AssetMaterialization(
            asset_key=key, description=f"built by `dvc repro` (stage {stage})",
            metadata={**metadata(asset, paths, params), "dvc_stage": dg.MetadataValue.text(stage)},
            tags={"dpforecast/built_by": "dvc"}))
        keys.append(key)
    return keys


if __name__ == "__main__":  # the detached reporter dagster_report.report() starts
    report_now(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
