"""The forecasts every model is measured against, at every lead, on the test windows.

Persistence (the last count, at every lead), seasonal naive (the same local time one day
and one week back, never past the forecast origin) and ridge on the same windows (its
penalty chosen on the validation block). Ridge is fitted on the series the models train
on (the noisy release in ``ip`` mode); all of them are non-private baselines.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dpforecast.features.windows import target_rows, window_arrays
from dpforecast.models.persistence import persistence_forecast
from dpforecast.models.ridge import RidgeFit, select_ridge
from dpforecast.models.seasonal import LAGS, seasonal_naive_forecast

BASELINES = ("persistence", "ridge", *LAGS)


def baseline_forecasts(table: pl.DataFrame, windows: pl.DataFrame, window: int, horizon: int, zones: list[str],
                       interval_minutes: int, x_test: np.ndarray) -> tuple[dict[str, np.ndarray], RidgeFit]:
    """``name -> (n_test, horizon, zones)`` (NaN where a seasonal lag is absent) and the ridge fit."""
    rows = target_rows(windows.filter(pl.col("split") == "test"), horizon)
    ridge = select_ridge(window_arrays(table, windows, "train", window, horizon, zones),
                         window_arrays(table, windows, "validation", window, horizon, zones))
    out = {"persistence": persistence_forecast(x_test, len(zones), horizon), "ridge": ridge.predict(x_test)}
    for name, lag in LAGS.items():
        out[name] = seasonal_naive_forecast(table, rows, zones, lag, interval_minutes)
    return out, ridge


def in_sample_seasonal_mae(table: pl.DataFrame, windows: pl.DataFrame, zones: list[str],
                           interval_minutes: int) -> dict[str, float | None]:
    """Per zone, the MAE of the one-step, one-day seasonal naive forecast over the training
    targets (lead 1): MASE's denominator (Hyndman & Koehler 2006), so a MASE of 1 means "as
    good as yesterday's count, in sample", whatever the horizon."""
    rows = windows.filter(pl.col("split") == "train")["target_row"].to_numpy()
    pred = seasonal_naive_forecast(table, rows, zones, LAGS["seasonal_day"], interval_minutes)[:, 0]
    actual = table.select(zones).to_numpy().astype(np.float64)[rows]
    found = np.isfinite(pred).all(axis=1)
    mae = np.mean(np.abs(pred[found] - actual[found]), axis=0) if found.any() else np.zeros(len(zones))
    return {z: float(v) if v > 0 else None for z, v in zip(zones, mae, strict=True)}
