"""The period each split covers: the first and last target time of its windows.

Stated in the data set's time zone (ISO 8601 with the offset), so a user sees what the
models were trained, stopped and calibrated, and tested on (a test period holding a
holiday explains a test score) without opening a file.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dpforecast.data.schema import TIMESTAMP
from dpforecast.features.windows import SPLITS


@dataclass(frozen=True)
class Period:
    """The first window's lead-1 target time and the last window's last target time."""

    first: str
    last: str


def split_periods(table: pl.DataFrame, windows: pl.DataFrame, horizon: int) -> dict[str, Period]:
    """Each split's period (splits without a window are left out)."""
    periods = {}
    for split in SPLITS:
        rows = windows.filter(pl.col("split") == split)["target_row"]
        if rows.len():
            first, last = table[TIMESTAMP][int(rows.min())], table[TIMESTAMP][int(rows.max()) + horizon - 1]
            periods[split] = Period(first.isoformat(), last.isoformat())
    return periods


def period_lines(periods: dict[str, dict[str, str]], splits: tuple[str, ...] = SPLITS) -> list[str]:
    """``  train       2020-08-24T03:00:00+02:00 to 2020-10-21T23:30:00+02:00`` per split
    (``periods`` as ``summary.json`` holds them)."""
    return [f"  {split:<10}  {periods[split]['first']} to {periods[split]['last']}" for split in splits
            if split in periods]
