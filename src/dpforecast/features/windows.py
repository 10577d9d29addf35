"""Sliding windows over the series and their chronological train/validation/test split.

A window is ``window`` consecutive input rows and the target row ``horizon`` steps after
the last of them. The split is decided by the target's time: the last ``test_days`` local
days are the test set (never used for fitting or selection), the ``validation_days``
before them the validation block, everything earlier the training set.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from dpforecast.data.schema import INTERVAL_MINUTES, TIMESTAMP, ZONES
from dpforecast.features.calendar import CALENDAR_FEATURES

FEATURES = [*ZONES, *CALENDAR_FEATURES]
SPLITS = ("train", "validation", "test")


def split_starts(table: pl.DataFrame, test_days: int, validation_days: int) -> tuple[datetime, datetime]:
    """Local midnights where the validation block and the test set begin."""
    last = table[TIMESTAMP].max()
    test_start = last.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=test_days - 1)
    val_start = test_start - timedelta(days=validation_days)
    # Rebuild through the zone so a start across a change of time keeps its local midnight.
    tz = last.tzinfo
    return (
        val_start.replace(tzinfo=None).replace(tzinfo=tz),
        test_start.replace(tzinfo=None).replace(tzinfo=tz),
    )


def make_windows(
    table: pl.DataFrame,
    window: int,
    horizon: int,
    contiguous: bool,
    test_days: int,
    validation_days: int,
) -> pl.DataFrame:
    """One row per usable window: its first input row, target row, target time and split.

    Unless ``contiguous``, a window whose span is not exactly ``window - 1 + horizon``
    intervals of real time straddles a gap and is dropped.
    """
    span = window - 1 + horizon
    n = table.height
    if n <= span:
        raise ValueError(f"series of {n} rows is too short for window {window} and horizon {horizon}")
    val_start, test_start = split_starts(table, test_days, validation_days)
    instants = table[TIMESTAMP].dt.epoch("s").to_numpy()
    target = np.arange(span, n)
    start = target - span
    keep = np.ones_like(target, dtype=bool)
    if not contiguous:
        keep = (instants[target] - instants[start]) == span * INTERVAL_MINUTES * 60
    frame = pl.DataFrame(
        {"start_row": start[keep], "target_row": target[keep]},
        schema={"start_row": pl.Int64, "target_row": pl.Int64},
    ).with_columns(table[TIMESTAMP].gather(target[keep]).alias("target_time"))
    split = (
        pl.when(pl.col("target_time") >= test_start)
        .then(pl.lit("test"))
        .when(pl.col("target_time") >= val_start)
        .then(pl.lit("validation"))
        .otherwise(pl.lit("train"))
    )
    return frame.with_columns(split.alias("split"))


def window_arrays(
    table: pl.DataFrame, windows: pl.DataFrame, split: str, window: int, targets: pl.DataFrame | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``(n, window, features)`` in float32 and targets ``(n, zones)``: from
    ``targets`` (the raw counts) when given, else from ``table``."""
    part = windows.filter(pl.col("split") == split)
    values = table.select(FEATURES).to_numpy().astype(np.float32)
    starts = part["start_row"].to_numpy()
    idx = starts[:, None] + np.arange(window)[None, :]
    x = values[idx]
    source = table if targets is None else targets
    y = source.select(ZONES).to_numpy().astype(np.float32)[part["target_row"].to_numpy()]
    return x, y


def split_counts(windows: pl.DataFrame) -> dict[str, int]:
    counts = dict(windows.group_by("split").len().iter_rows())
    return {s: int(counts.get(s, 0)) for s in SPLITS}
