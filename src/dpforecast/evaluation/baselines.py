"""The forecasts every model is measured against, at every lead, on the test windows.

Persistence (the last count, at every lead), seasonal naive (the same local time one day
and one week back, never past the forecast origin) and ridge on the same windows (its
penalty chosen on the validation block). Ridge is fitted on the series the models train
on (the noisy release in ``ip`` mode); all of them are non-private baselines.

Beside them, the field's baselines ``evaluate.baselines`` names (:data:`FIELD_BASELINES`):
statistical methods and a zero-shot model, each with its own intervals and its cost. They
too read the series the models train on: post-processing of the release under input
perturbation, raw counts (non-private) otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from dpforecast.config import Params
from dpforecast.models.base import FitContext, FitSummary, Forecast, Model, Windows
from dpforecast.models.persistence import Persistence
from dpforecast.models.ridge import Ridge, RidgeFit
from dpforecast.models.seasonal import LAGS, SeasonalNaive, seasonal_naive_forecast
from dpforecast.models.statistical import MSTL, AutoARIMA, AutoETS
from dpforecast.models.zero_shot import Fracast

BASELINES = ("persistence", "ridge", *LAGS)
# The baselines read no parameter: they fit (ridge) or apply a rule on their windows alone.
_RULES = FitContext(Params())


def baseline_models() -> list[Model]:
    """The baselines, as models (named as :data:`BASELINES`)."""
    return [Persistence(), Ridge(), *(SeasonalNaive(f"{lag}d") for lag in LAGS.values())]


def baseline_forecasts(table: pl.DataFrame, windows: pl.DataFrame, window: int, horizon: int, zones: list[str],
                       interval_minutes: int) -> tuple[dict[str, np.ndarray], RidgeFit]:
    """``name -> (n_test, horizon, zones)`` forecasts of the test windows (NaN where a
    seasonal lag is absent) and the ridge fit, each baseline fitted on the training
    windows with the validation block to select (as any model)."""
    train, validation, test = (Windows.of(table, windows.filter(pl.col("split") == s), window, horizon, zones,
                                          interval_minutes) for s in ("train", "validation", "test"))
    out, ridge = {}, None
    for model in baseline_models():
        model.fit(train, validation, _RULES)
        out[model.name] = model.predict(test)
        if isinstance(model, Ridge):
            ridge = model.fitted
    assert ridge is not None
    return out, ridge


#: The field's baselines ``evaluate.baselines`` may name.
FIELD_BASELINES: dict[str, Callable[[], Model]] = {"autoets": AutoETS, "mstl": MSTL, "autoarima": AutoARIMA,
                                                   "fracast": Fracast}


@dataclass(frozen=True)
class FieldForecast:
    """One field baseline on the test windows: its forecast (with its own intervals), how
    its fit went, and the seconds it took to fit and forecast."""

    forecast: Forecast
    summary: FitSummary
    seconds: float


def field_forecasts(table: pl.DataFrame, windows: pl.DataFrame, window: int, horizon: int, zones: list[str],
                    interval_minutes: int, names: Sequence[str]) -> dict[str, FieldForecast]:
    """``name -> FieldForecast`` of the test windows for each of ``names``, fitted on the
    training and validation windows' history (never a test count) as any model is."""
    train, validation, test = (Windows.of(table, windows.filter(pl.col("split") == s), window, horizon, zones,
                                          interval_minutes) for s in ("train", "validation", "test"))
    out = {}
    for name in names:
        model = FIELD_BASELINES[name]()
        began = time.perf_counter()
        summary = model.fit(train, validation, _RULES)
        forecast = model.forecast(test)
        out[name] = FieldForecast(forecast, summary, time.perf_counter() - began)
    return out


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
