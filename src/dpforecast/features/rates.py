"""Counts per nominal interval: how the models see a local clock's longer and shorter intervals.

On a local clock the interval that holds a change of time lasts longer or shorter than
``interval_minutes`` (3 or 1 hours for 2-hour counts) and counts people for as long as it
lasts. The models read, fit and forecast counts per ``interval_minutes``, each count
divided by its interval's duration over the nominal one, so a 3-hour count is not a surge
and a 1-hour one not a slump; a forecast is turned back into the count of its target
interval (:func:`as_counts`), whose duration serving states. On an absolute clock every
interval is nominal and nothing is touched.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dpforecast.data.clock import Clock
from dpforecast.data.schema import TIMESTAMP


def duration_ratios(stamps: pl.Series, clock: Clock) -> np.ndarray:
    """Each interval's duration over the nominal ``interval_minutes`` (1 on an absolute clock)."""
    return clock.durations(stamps) / clock.interval_minutes


def per_nominal_interval(series: pl.DataFrame, zones: list[str], clock: Clock) -> pl.DataFrame:
    """``series`` with the ``zones``' counts per nominal interval (floats) on a local clock;
    unchanged on an absolute one."""
    if not clock.local:
        return series
    ratio = pl.Series("ratio", duration_ratios(series[TIMESTAMP], clock))
    return series.with_columns((pl.col(z) / ratio).alias(z) for z in zones)


def as_counts(forecast: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """Forecasts ``(n, horizon, zones)`` per nominal interval as counts of target intervals
    whose duration ratios are ``ratios`` ``(n, horizon)``."""
    return forecast * ratios[:, :, None]
