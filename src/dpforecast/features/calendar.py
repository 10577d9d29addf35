"""Cyclic calendar features: where each interval sits in its day and in its "week".

Both pairs use local wall-clock time, since people's routines follow the clock, not UTC.
The study's notebooks used a 30-day period for the "week" pair; 7 days is the default.
"""

from __future__ import annotations

import math

import polars as pl

from dpforecast.data.schema import TIMESTAMP

CALENDAR_FEATURES = ["tod_sin", "tod_cos", "tow_sin", "tow_cos"]
_DAY_S = 86_400.0


def add_calendar_features(series: pl.DataFrame, week_period_days: float) -> pl.DataFrame:
    # Wall-clock seconds since 1970-01-01 00:00 local, as the study's pandas code computed.
    wall = pl.col(TIMESTAMP).dt.replace_time_zone(None).dt.epoch("s").cast(pl.Float64)
    day = 2 * math.pi * (wall % _DAY_S) / _DAY_S
    week_s = week_period_days * _DAY_S
    week = 2 * math.pi * (wall % week_s) / week_s
    return series.with_columns(
        day.sin().alias("tod_sin"),
        day.cos().alias("tod_cos"),
        week.sin().alias("tow_sin"),
        week.cos().alias("tow_cos"),
    )
