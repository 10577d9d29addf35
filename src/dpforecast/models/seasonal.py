"""Seasonal naive baselines: the count at the same local time one day (or one week) earlier.

What a forecaster tries right after persistence. The lag is taken on the wall clock
(people's routines follow it), so across a change of time "yesterday at 08:00" is
08:00, not 23 or 25 hours ago. Where the earlier count is absent (a gap, a missing
value) the baseline has no forecast: those windows are left out of its score, and the
count of windows it was scored on is reported beside it.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dpforecast.data.schema import TIMESTAMP

LAGS = {"seasonal_day": 1, "seasonal_week": 7}


def seasonal_naive_forecast(table: pl.DataFrame, target_rows: np.ndarray, zones: list[str], lag_days: int) -> np.ndarray:
    """``(n, zones)`` forecasts for the rows ``target_rows`` of ``table``; NaN where the
    count ``lag_days`` earlier on the wall clock is not in ``table`` or is missing."""
    wall = table.select(pl.col(TIMESTAMP).dt.replace_time_zone(None).alias("wall"),
                        pl.int_range(table.height, dtype=pl.Int64).alias("source"))
    wall = wall.unique("wall", keep="first", maintain_order=True)
    wanted = pl.DataFrame({"row": target_rows}).with_columns(
        (table[TIMESTAMP].dt.replace_time_zone(None).gather(target_rows) - pl.duration(days=lag_days)).alias("wall"))
    source = wanted.join(wall, on="wall", how="left", maintain_order="left")["source"].to_numpy()
    values = table.select(zones).to_numpy().astype(np.float64)  # missing counts are NaN
    out = np.full((len(target_rows), len(zones)), np.nan)
    found = ~np.isnan(source.astype(np.float64))
    out[found] = values[source[found].astype(np.int64)]
    return out
