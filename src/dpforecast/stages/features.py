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
from dpforecast.io import atomic_dir, write_parquet
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
    # One folder swapped in whole: a table never sits beside another run's windows.
    folder = paths.feature_table.parent
    assert paths.targets.parent == folder and paths.windows.parent == folder
    with atomic_dir(folder) as tmp:
        write_parquet(tmp / paths.feature_table.name, table)
        write_parquet(tmp / paths.targets.name, raw.select(ZONES))
        write_parquet(tmp / paths.windows.name, windows)
    return counts
