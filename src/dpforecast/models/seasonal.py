"""Seasonal naive baselines: the count at the same local time one day (or one week) earlier.

What a forecaster tries right after persistence. The lag is taken on the wall clock
(people's routines follow it), so across a change of time "yesterday at 08:00" is
08:00, not 23 or 25 hours ago. A forecast may only use what was known at its origin
(the last input interval): at a lead longer than the lag, the same time one more period
back is used (two days back for lead 30 hours), so the baseline never peeks past the
origin. Where the earlier count is absent (a gap, a missing value) the baseline has no
forecast: those windows are left out of its score, and the count of windows it was
scored on is reported beside it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import polars as pl

from dpforecast.data.schema import TIMESTAMP
from dpforecast.features.windows import target_rows
from dpforecast.models.base import FitContext, FitSummary, Model, Windows

LAGS = {"seasonal_day": 1, "seasonal_week": 7}
_DAY_MINUTES = 1440


def lag_days_by_lead(lag_days: int, horizon: int, interval_minutes: int) -> np.ndarray:
    """``(horizon,)`` days back for leads 1..horizon: the smallest multiple of ``lag_days``
    reaching at or before the origin."""
    lead_minutes = np.arange(1, horizon + 1) * interval_minutes
    return lag_days * np.ceil(lead_minutes / (lag_days * _DAY_MINUTES)).astype(np.int64)


def seasonal_naive_forecast(table: pl.DataFrame, target_rows: np.ndarray, zones: list[str], lag_days: int,
                            interval_minutes: int) -> np.ndarray:
    """``(n, horizon, zones)`` forecasts for the rows ``target_rows`` ``(n, horizon)`` of
    ``table`` (lead 1 first); NaN where the count that many days earlier on the wall clock
    is not in ``table`` or is missing. The origin is the row before lead 1: a source row
    after it (a lead near 24 hours on a 23-hour day) steps one more period back."""
    target_rows = np.asarray(target_rows).reshape(len(target_rows), -1)
    n, horizon = target_rows.shape
    lags = np.broadcast_to(lag_days_by_lead(lag_days, horizon, interval_minutes), (n, horizon)).ravel().copy()
    rows = target_rows.ravel()
    origins = np.repeat(target_rows[:, 0] - 1, horizon)
    wall = table.select(pl.col(TIMESTAMP).dt.replace_time_zone(None).alias("wall"),
                        pl.int_range(table.height, dtype=pl.Int64).alias("source"))
    wall = wall.unique("wall", keep="first", maintain_order=True)
    clock = table[TIMESTAMP].dt.replace_time_zone(None)
    while True:
        wanted = pl.DataFrame({"row": rows, "lag": lags}).with_columns(
            (clock.gather(rows) - pl.duration(days=pl.col("lag"))).alias("wall"))
        source = wanted.join(wall, on="wall", how="left", maintain_order="left")["source"].fill_null(-1).to_numpy()
        late = source > origins
        if not late.any():
            break
        lags[late] += lag_days
    values = table.select(zones).to_numpy().astype(np.float64)  # missing counts are NaN
    out = np.full((len(rows), len(zones)), np.nan)
    found = source >= 0
    out[found] = values[source[found]]
    return out.reshape(n, horizon, len(zones))


class SeasonalNaive(Model):
    """The count at the same local time one season earlier: ``"1d"`` (yesterday) or ``"7d"``
    (last week), or a whole number of days."""

    def __init__(self, season: str = "1d", alias: str | None = None) -> None:
        match = re.fullmatch(r"([1-9][0-9]*)d", season)
        if match is None:
            raise ValueError(f"SeasonalNaive: season {season!r} is not a whole number of days such as '1d' or '7d'")
        super().__init__(alias)
        self.season, self.lag_days = season, int(match.group(1))

    @property
    def default_name(self) -> str:  # type: ignore[override]
        named = {lag: name for name, lag in LAGS.items()}
        return named.get(self.lag_days, f"seasonal_{self.lag_days}d")

    def config(self) -> dict[str, Any]:
        return {**super().config(), "season": self.season}

    def fit(self, train: Windows, validation: Windows, context: FitContext) -> FitSummary:
        return FitSummary()

    def predict(self, windows: Windows) -> np.ndarray:
        rows = target_rows(windows.index, windows.horizon)
        return seasonal_naive_forecast(windows.table, rows, list(windows.zones), self.lag_days,
                                       windows.interval_minutes)
