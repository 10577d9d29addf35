"""Stage ``evaluate``: test-week errors of the persistence baseline and every saved model.

The models are loaded back from their saved folders, so these metrics also prove that
what was saved reproduces what was trained.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import polars as pl

from dpforecast.config import Params
from dpforecast.evaluation.metrics import forecast_errors
from dpforecast.evaluation.plots import forecast_figure, training_figure
from dpforecast.features.windows import window_arrays
from dpforecast.io import read_json, write_json
from dpforecast.models.persistence import persistence_forecast
from dpforecast.models.ridge import select_ridge
from dpforecast.models.seasonal import LAGS, seasonal_naive_forecast
from dpforecast.models.store import load_forecaster
from dpforecast.paths import Paths
from dpforecast.training.loop import predict


# What ``metrics/privacy.json`` keeps of each model's report, so ``dvc exp show`` and
# ``dvc metrics diff`` put the guarantee (with its unit and delta) beside the errors.
PRIVACY_METRICS = ("private", "mode", "mechanism", "epsilon", "delta", "unit", "unit_name", "accountant",
                   "noise_multiplier", "max_grad_norm", "sample_rate", "steps", "windows_per_unit", "sigma")


def evaluate(paths: Paths, params: Params, track: bool = True, lineage: dict[str, str] | None = None) -> dict[str, Any]:
    """Write the test metrics (means, and per zone) and the plots; log the baseline to MLflow."""
    table = pl.read_parquet(paths.feature_table)
    windows = pl.read_parquet(paths.windows)
    # Raw targets: in ``ip`` mode the table holds the noisy release, and the study scores
    # every model (and the baseline) against what really happened.
    targets = pl.read_parquet(paths.targets)
    zones = list(targets.columns)
    x_test, y_test = window_arrays(table, windows, "test", params.features.window, zones, targets=targets)
    times = windows.filter(pl.col("split") == "test")["target_time"].to_list()

    forecasts: dict[str, np.ndarray] = {"persistence": persistence_forecast(x_test, len(zones))}
    histories: dict[str, list[dict[str, float]]] = {}
    guarantees: dict[str, str] = {"persistence": "not private"}
    reports: dict[str, dict[str, Any]] = {"persistence": {"private": False, "mode": "none"}}
    for arch in params.models():
        folder = paths.model_dir(arch)
        forecasts[arch] = predict(load_forecaster(folder), x_test, device="cpu")
        histories[arch] = read_json(folder / "history.json")
        report = read_json(folder / "privacy.json")
        guarantees[arch] = report["summary"]
        reports[arch] = {k: report[k] for k in PRIVACY_METRICS if report.get(k) is not None}
    metrics = {name: {**forecast_errors(y_test, pred, zones), "privacy": guarantees[name]} for name, pred in forecasts.items()}
    summary, per_zone = baselines(table, windows, params.features.window, y_test, x_test, forecasts, zones)
    write_json(paths.baselines, summary)
    write_json(paths.baselines_per_zone, per_zone)
    write_json(paths.per_zone, metrics)
    write_json(paths.privacy_metrics, reports)
    write_json(paths.evaluation, {n: {"rmse": m["rmse"]["mean"], "mae": m["mae"]["mean"]} for n, m in metrics.items()})
    forecast_figure(times, y_test, forecasts, paths.plots_dir / "forecast.png", params.data_set.zone_names, zones)
    training_figure(histories, paths.plots_dir / "training_curves.png")
    if track:
        import mlflow

        from dpforecast.tracking.mlflow_tracking import configure, start_run

        configure(paths, params.tracking.experiment)
        with start_run("persistence"):
            mlflow.log_params({"architecture": "persistence", "features.window": params.features.window,
                               "features.horizon": params.features.horizon, "profile": params.profile,
                               "dataset": params.dataset})
            mlflow.set_tags({**(lineage or {}), "model": "persistence", "privacy": "none"})
            per = metrics["persistence"]
            mlflow.log_metrics({f"test_{m}_{z}": v for m in ("rmse", "mae") for z, v in per[m].items()})
            mlflow.log_artifact(str(paths.plots_dir / "forecast.png"))
    return metrics


def baselines(
    table: pl.DataFrame, windows: pl.DataFrame, window: int, y_test: np.ndarray, x_test: np.ndarray,
    forecasts: dict[str, np.ndarray], zones: list[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What every model is measured against, on the test windows: persistence, ridge on the
    same windows (penalty chosen on the validation block), seasonal naive one day and one
    week back; each model's RMSE skill over each (1 - its RMSE / the baseline's) and its
    MASE (MAE over the in-sample seasonal naive MAE, per zone, then the mean). A model that
    does not beat them says so. Second, the baselines' errors and the MASE per zone."""
    rows = windows.filter(pl.col("split") == "test")["target_row"].to_numpy()
    ridge = select_ridge(window_arrays(table, windows, "train", window, zones),
                         window_arrays(table, windows, "validation", window, zones))
    scored = {**forecasts, "ridge": ridge.predict(x_test)}
    out: dict[str, Any] = {}
    per_zone: dict[str, Any] = {}
    errors = {n: forecast_errors(y_test, p, zones) for n, p in scored.items()}
    out["persistence"] = {"rmse": errors["persistence"]["rmse"]["mean"], "windows": int(len(rows))}
    out["ridge"] = {"rmse": errors["ridge"]["rmse"]["mean"], "mae": errors["ridge"]["mae"]["mean"],
                    "alpha": ridge.alpha, "windows": int(len(rows))}
    per_zone["ridge"] = errors["ridge"]
    for name, lag in LAGS.items():
        pred = seasonal_naive_forecast(table, rows, zones, lag)
        found = np.isfinite(pred).all(axis=1)
        if not found.any():  # no test window has its lag: no score rather than NaN
            out[name] = {"rmse": None, "mae": None, "windows": 0}
            continue
        e = forecast_errors(y_test[found], pred[found], zones)
        out[name] = {"rmse": e["rmse"]["mean"], "mae": e["mae"]["mean"], "windows": int(found.sum())}
        per_zone[name] = {**e, "windows": int(found.sum())}
        if found.sum() < len(rows):
            # Scored on fewer windows: the models' errors on those same windows, to compare like with like.
            out[name]["models_on_these_windows"] = {
                n: forecast_errors(y_test[found], p[found], zones)["rmse"]["mean"] for n, p in scored.items()}
    references = ("persistence", "ridge", *LAGS)
    out["skill_rmse"] = {n: {b: 1 - e["rmse"]["mean"] / out[b]["rmse"] for b in references
                             if b != n and out[b]["rmse"]} for n, e in errors.items() if n != "persistence"}
    scale = in_sample_seasonal_mae(table, windows, zones)
    mase = {n: {z: e["mae"][z] / scale[z] if scale[z] else None for z in zones} for n, e in errors.items()}
    out["mase"] = {n: _mean_or_none(m.values()) for n, m in mase.items()}
    per_zone["mase"] = {"scale_seasonal_day_mae_in_sample": scale, **mase}
    return out, per_zone


def in_sample_seasonal_mae(table: pl.DataFrame, windows: pl.DataFrame, zones: list[str]) -> dict[str, float]:
    """Per zone, the MAE of the one-day seasonal naive forecast over the training targets:
    MASE's denominator, so 1 means "as good as yesterday's count, in sample"."""
    rows = windows.filter(pl.col("split") == "train")["target_row"].to_numpy()
    pred = seasonal_naive_forecast(table, rows, zones, LAGS["seasonal_day"])
    actual = table.select(zones).to_numpy().astype(np.float64)[rows]
    found = np.isfinite(pred).all(axis=1)
    mae = np.mean(np.abs(pred[found] - actual[found]), axis=0)
    return {z: float(v) if found.any() and v > 0 else None for z, v in zip(zones, mae, strict=True)}


def _mean_or_none(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def summary_table(metrics: dict[str, Any]) -> str:
    """Model -> mean RMSE, mean MAE on the test week and its privacy guarantee, in Markdown."""
    lines = ["| model | mean RMSE | mean MAE | privacy |", "| --- | --- | --- | --- |"]
    for name, m in metrics.items():
        lines.append(f"| {name} | {m['rmse']['mean']:.1f} | {m['mae']['mean']:.1f} | {m['privacy']} |")
    return "\n".join(lines)
