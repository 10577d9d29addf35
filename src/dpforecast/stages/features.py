"""Stage ``features``: calendar features, the window index, and the raw targets.

Models train on the series :func:`training_series` names (the noisy release in ``ip``
mode); ``targets.parquet`` keeps the raw counts, against which the test week is scored.
"""

from __future__ import annotations

import polars as pl

from dpforecast.config import Params
from dpforecast.data.schema import ZONES
from dpforecast.features.calendar import add_calendar_features
from dpforecast.features.windows import make_windows, split_counts
from dpforecast.io import write_parquet
from dpforecast.paths import Paths
from dpforecast.stages.release import training_series


def build_features(paths: Paths, params: Params) -> dict[str, int]:
    """Write the feature table, the raw targets and the window index; return windows per split."""
    series = pl.read_parquet(training_series(paths, params))
    raw = pl.read_parquet(paths.series)
    if not series["timestamp"].equals(raw["timestamp"]):
        raise ValueError("the training series and the validated series have different timestamps")
    table = add_calendar_features(series, params.features.week_period_days)
    windows = make_windows(
        table,
        params.features.window,
        params.features.horizon,
        params.data.contiguous,
        params.split.test_days,
        params.split.validation_days,
    )
    counts = split_counts(windows)
    if counts["train"] == 0 or counts["test"] == 0:
        raise ValueError(f"the split leaves no training or no test window: {counts}")
    write_parquet(paths.feature_table, table)
    write_parquet(paths.targets, raw.select(ZONES))
    write_parquet(paths.windows, windows)
    return counts
