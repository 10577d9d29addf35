"""Sliding windows over the series and their chronological train/validation/test split.

A window is ``window`` consecutive input rows and the ``horizon`` rows after them, its
targets (direct multi-output: lead 1 is the row after the last input, lead ``horizon``
the last target; the study's one step is ``horizon = 1``). The split is decided by the
targets' times: the last ``test_days`` local days are the test set (never used for
fitting or selection), the ``validation_days`` before them the validation block, the
``history_days`` before that (all, if None) the training set. A window whose first and
last targets fall in different blocks is dropped, so no training target is in the
validation block and no validation target in the test set. A window touching a missing
count is dropped, never filled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from dpforecast.data.clock import Clock
from dpforecast.data.holiday_calendar import HolidayCalendar
from dpforecast.data.schema import TIMESTAMP
from dpforecast.features.calendar import CALENDAR_FEATURES
from dpforecast.features.known_future import known_future_columns, present_columns

SPLITS = ("train", "validation", "test")


def feature_columns(zones: list[str], known_future: Sequence[str] = ()) -> list[str]:
    """Model input columns: the zones' counts first, then the calendar features, then the
    columns of the known-future inputs (``features.known_future``) if any."""
    return [*zones, *CALENDAR_FEATURES, *known_future_columns(known_future)]


def table_features(table: pl.DataFrame, zones: list[str]) -> list[str]:
    """The input columns of ``table``: :func:`feature_columns` with the known-future columns
    it was built with (the table carries the choice, so no reader needs the parameter)."""
    return [*zones, *CALENDAR_FEATURES, *present_columns(table.columns)]


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


def history_start(val_start: datetime, history_days: int | None) -> datetime | None:
    """Local midnight where the training history begins (None: the series' start)."""
    if history_days is None:
        return None
    start = val_start - timedelta(days=history_days)
    return start.replace(tzinfo=None).replace(tzinfo=val_start.tzinfo)


def incomplete_rows(table: pl.DataFrame, zones: list[str]) -> np.ndarray:
    """True for each row with a missing count in any of ``zones``."""
    if not zones:
        return np.zeros(table.height, dtype=bool)
    return table.select(pl.any_horizontal(pl.col(z).is_null() for z in zones)).to_series().to_numpy()


@dataclass(frozen=True)
class _Candidates:
    """Every window the series could hold (first input row, lead-1 target row, last row)
    and, for each, whether each rule removes it."""

    start: np.ndarray
    target: np.ndarray
    straddles_gap: np.ndarray
    misses_count: np.ndarray
    before_history: np.ndarray
    straddles_blocks: np.ndarray
    val_start: datetime
    test_start: datetime


def _candidates(table: pl.DataFrame, window: int, horizon: int, contiguous: bool, test_days: int,
                validation_days: int, clock: Clock, zones: list[str], history_days: int | None) -> _Candidates:
    span = window - 1 + horizon
    n = table.height
    if n <= span:
        raise ValueError(f"series of {n} rows is too short for window {window} and horizon {horizon}")
    val_start, test_start = split_starts(table, test_days, validation_days)
    instants = table[TIMESTAMP].dt.epoch("s").to_numpy()
    last = np.arange(span, n)
    start = last - span
    target = start + window  # lead 1
    gap = np.zeros_like(target, dtype=bool)
    if not contiguous:
        gap = ~clock.consecutive(table[TIMESTAMP], start, last, span)
    # Rows with a missing count before each row, so a window's rows are checked in O(1).
    holes = np.concatenate([[0], np.cumsum(incomplete_rows(table, zones))])
    first = history_start(val_start, history_days)
    early = np.zeros_like(gap) if first is None else instants[target] < int(first.timestamp())
    block = np.searchsorted([int(val_start.timestamp()), int(test_start.timestamp())], instants, side="right")
    return _Candidates(start, target, gap, (holes[last + 1] - holes[start]) != 0, early, block[target] != block[last],
                       val_start, test_start)


def make_windows(
    table: pl.DataFrame,
    window: int,
    horizon: int,
    contiguous: bool,
    test_days: int,
    validation_days: int,
    clock: Clock,
    zones: list[str],
    history_days: int | None = None,
) -> pl.DataFrame:
    """One row per usable window: its first input row, first target row (lead 1), that
    target's time and the split.

    Unless ``contiguous``, a window whose rows are not ``window + horizon`` consecutive
    intervals of the data set's ``clock`` (on a local clock, one may be longer or shorter
    across a change of time) straddles a gap and is dropped. A window whose inputs or
    targets miss a count of ``zones`` is always dropped, as is one whose first target is
    before the training history or whose targets straddle two blocks.
    """
    c = _candidates(table, window, horizon, contiguous, test_days, validation_days, clock, zones,
                    history_days)
    keep = ~(c.straddles_gap | c.misses_count | c.before_history | c.straddles_blocks)
    frame = pl.DataFrame(
        {"start_row": c.start[keep], "target_row": c.target[keep]},
        schema={"start_row": pl.Int64, "target_row": pl.Int64},
    ).with_columns(table[TIMESTAMP].gather(c.target[keep]).alias("target_time"))
    split = (
        pl.when(pl.col("target_time") >= c.test_start)
        .then(pl.lit("test"))
        .when(pl.col("target_time") >= c.val_start)
        .then(pl.lit("validation"))
        .otherwise(pl.lit("train"))
    )
    return frame.with_columns(split.alias("split"))


def removed_windows(
    table: pl.DataFrame,
    window: int,
    horizon: int,
    contiguous: bool,
    test_days: int,
    validation_days: int,
    clock: Clock,
    zones: list[str],
    history_days: int | None = None,
) -> dict[str, int]:
    """The windows :func:`make_windows` leaves out, each counted once, by the first of:
    its first target is before the training history, it straddles a gap in time, its
    targets straddle two blocks, it touches a missing count."""
    c = _candidates(table, window, horizon, contiguous, test_days, validation_days, clock, zones,
                    history_days)
    gap = c.straddles_gap & ~c.before_history
    blocks = c.straddles_blocks & ~c.before_history & ~c.straddles_gap
    missing = c.misses_count & ~c.before_history & ~c.straddles_gap & ~c.straddles_blocks
    return {"before_history": int(c.before_history.sum()), "gap_in_time": int(gap.sum()),
            "two_blocks": int(blocks.sum()), "missing_count": int(missing.sum())}


def window_arrays(
    table: pl.DataFrame, windows: pl.DataFrame, split: str, window: int, horizon: int, zones: list[str],
    targets: pl.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``(n, window, features)`` in float32 and targets ``(n, horizon, zones)`` of the
    windows of ``split``: from ``targets`` (the raw counts) when given, else from ``table``."""
    return index_arrays(table, windows.filter(pl.col("split") == split), window, horizon, zones, targets)


def index_arrays(
    table: pl.DataFrame, index: pl.DataFrame, window: int, horizon: int, zones: list[str],
    targets: pl.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The arrays of the windows ``index`` lists (``start_row``, ``target_row``); a target row
    past the table's end (a forecast of the future) is NaN."""
    values = table.select(table_features(table, zones)).to_numpy().astype(np.float32)
    x = values[index["start_row"].to_numpy()[:, None] + np.arange(window)[None, :]]
    source = (table if targets is None else targets).select(zones).to_numpy().astype(np.float32)
    rows = target_rows(index, horizon)
    y = np.full((len(index), horizon, len(zones)), np.nan, np.float32)
    inside = rows < len(source)
    y[inside] = source[rows[inside]]
    return x, y


def target_rows(windows: pl.DataFrame, horizon: int) -> np.ndarray:
    """``(n, horizon)`` rows of each window's targets, lead 1 first."""
    return windows["target_row"].to_numpy()[:, None] + np.arange(horizon)[None, :]


def target_groups(table: pl.DataFrame, index: pl.DataFrame, horizon: int, calendar: HolidayCalendar) -> np.ndarray:
    """``(n, horizon)`` calendar group (weekday, weekend, holiday) of each window's targets'
    local days; a target past the table's end (a forecast of the future) has none (``""``)."""
    rows = target_rows(index, horizon)
    inside = rows < table.height
    out = np.full(rows.shape, "", dtype=object)
    if inside.any():
        out[inside] = calendar.groups(table[TIMESTAMP].gather(rows[inside]).dt.date())
    return out


def split_counts(windows: pl.DataFrame) -> dict[str, int]:
    counts = dict(windows.group_by("split").len().iter_rows())
    return {s: int(counts.get(s, 0)) for s in SPLITS}
