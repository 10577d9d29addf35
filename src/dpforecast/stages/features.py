"""Stage ``features``: calendar features on the validated series, and the window index."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from dpforecast.config import Params
from dpforecast.features.calendar import add_calendar_features
from dpforecast.features.windows import make_windows, split_counts
from dpforecast.io import write_parquet


def build_features(series_path: Path, table_out: Path, windows_out: Path, params: Params) -> dict[str, int]:
    """Write the feature table and one row per usable window; return windows per split."""
    series = pl.read_parquet(series_path)
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
    write_parquet(table_out, table)
    write_parquet(windows_out, windows)
    return counts
