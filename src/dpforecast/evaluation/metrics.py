"""RMSE and MAE per zone and their mean over zones, on raw counts, predictions clipped at 0."""

from __future__ import annotations

import numpy as np


def forecast_errors(y_true: np.ndarray, y_pred: np.ndarray, zones: list[str]) -> dict[str, dict[str, float]]:
    """``{"rmse": {"r1": .., .., "mean": ..}, "mae": {...}}`` in float64, one entry per zone."""
    if y_true.shape != y_pred.shape or y_true.ndim != 2 or y_true.shape[1] != len(zones):
        raise ValueError(f"shapes differ or are not (n, {len(zones)}): {y_true.shape} vs {y_pred.shape}")
    err = np.clip(y_pred.astype(np.float64), 0, None) - y_true.astype(np.float64)
    rmse = np.sqrt(np.mean(err**2, axis=0))
    mae = np.mean(np.abs(err), axis=0)
    out: dict[str, dict[str, float]] = {}
    for name, per_zone in (("rmse", rmse), ("mae", mae)):
        out[name] = {z: float(v) for z, v in zip(zones, per_zone, strict=True)}
        out[name]["mean"] = float(per_zone.mean())
    return out
