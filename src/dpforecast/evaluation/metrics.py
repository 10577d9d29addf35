"""RMSE and MAE on raw counts (predictions clipped at 0): per zone, per lead time, and means.

Forecasts are ``(n, horizon, zones)`` (a ``(n, zones)`` array is one lead). A zone's error
is the mean over leads of its error at each lead, and the headline is the mean over zones,
so with one lead these are the study's per-zone RMSE and MAE and their mean.
"""

from __future__ import annotations

import numpy as np


def _as_leads(y: np.ndarray) -> np.ndarray:
    return y[:, None, :] if y.ndim == 2 else y


def lead_zone_errors(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
    """``{"rmse": (horizon, zones), "mae": (horizon, zones)}`` in float64."""
    y_true, y_pred = _as_leads(y_true), _as_leads(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 3:
        raise ValueError(f"shapes differ or are not (n, horizon, zones): {y_true.shape} vs {y_pred.shape}")
    err = np.clip(y_pred.astype(np.float64), 0, None) - y_true.astype(np.float64)
    return {"rmse": np.sqrt(np.mean(err**2, axis=0)), "mae": np.mean(np.abs(err), axis=0)}


def forecast_errors(y_true: np.ndarray, y_pred: np.ndarray, zones: list[str]) -> dict[str, dict[str, float]]:
    """``{"rmse": {"r1": .., .., "mean": ..}, "mae": {...}}``, one entry per zone."""
    errors = lead_zone_errors(y_true, y_pred)
    if errors["rmse"].shape[1] != len(zones):
        raise ValueError(f"forecasts have {errors['rmse'].shape[1]} zones, expected {len(zones)}")
    out: dict[str, dict[str, float]] = {}
    for name, table in errors.items():
        per_zone = table.mean(axis=0)
        out[name] = {z: float(v) for z, v in zip(zones, per_zone, strict=True)}
        out[name]["mean"] = float(per_zone.mean())
    return out


def errors_by_lead(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, list[float]]:
    """The mean over zones of each lead's RMSE and MAE: the error-against-lead curve."""
    return {name: [float(v) for v in table.mean(axis=1)] for name, table in lead_zone_errors(y_true, y_pred).items()}
