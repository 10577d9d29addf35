"""Recent counts in, model inputs out: the one way a served model sees data.

A window of recent counts is a table of consecutive 30-minute intervals, either in the
operator's format (``Date``, ``Hour``, the six zone names, ``Total``) or in the short one
(``timestamp`` as ISO 8601 with its UTC offset, ``r1``..``r6``). Every complete window of
``window`` rows gives one forecast of the interval ``horizon`` steps after its last row.
Bad input is refused with the row and the reason, never silently repaired: a forecast
from a window with a hole in it would look plausible and be wrong.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from dpforecast.data.ingest import ROW, RawFormatError, read_raw
from dpforecast.data.schema import COUNT_COLUMNS, DATE, HOUR, INTERVAL_MINUTES, TIMESTAMP, ZONE_NAMES, ZONES
from dpforecast.features.calendar import add_calendar_features
from dpforecast.features.windows import FEATURES

TARGET_TIME = "target_time"


class WindowInputError(ValueError):
    """The recent counts cannot make a model input (named column, row and reason)."""


def recent_counts(frame: pl.DataFrame, timezone: str, source: str = "input") -> pl.DataFrame:
    """``timestamp`` (timezone-aware, in ``timezone``) and Int64 ``r1``..``r6`` from either format."""
    columns = [c.strip() for c in frame.columns]
    frame = frame.rename(dict(zip(frame.columns, columns, strict=True)))
    if {DATE, HOUR} <= set(columns):
        missing = [c for c in COUNT_COLUMNS if c not in columns and c != "Total"]
        if missing:
            raise WindowInputError(f"{source}: operator format without column(s) {missing}")
        local = (pl.col(DATE).cast(pl.String) + " " + pl.col(HOUR).cast(pl.String)).str.strptime(
            pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
        stamps = frame.select(
            local.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null").alias(TIMESTAMP))
        counts = frame.select([pl.col(name).alias(zone) for zone, name in ZONE_NAMES.items()])
    elif {TIMESTAMP, *ZONES} <= set(columns):
        text = frame[TIMESTAMP].cast(pl.String)
        stamps = pl.DataFrame({TIMESTAMP: text}).select(
            pl.col(TIMESTAMP).str.to_datetime(time_zone="UTC", strict=False).dt.convert_time_zone(timezone))
        counts = frame.select(ZONES)
    else:
        raise WindowInputError(
            f"{source}: expected columns {[TIMESTAMP, *ZONES]} or the operator's "
            f"{[DATE, HOUR, *ZONE_NAMES.values()]}; got {columns}")
    bad_time = stamps[TIMESTAMP].is_null()
    if bad_time.any():
        row = int(bad_time.arg_max())
        raise WindowInputError(f"{source}: row {row + 1}: unreadable timestamp (ISO 8601 with offset, or Date + Hour)")
    typed = []
    for zone in ZONES:
        values = counts[zone].cast(pl.String).str.strip_chars().cast(pl.Int64, strict=False)
        bad = values.is_null() | (values < 0)
        if bad.any():
            row = int(bad.arg_max())
            raise WindowInputError(
                f"{source}: row {row + 1}, zone {zone} ({ZONE_NAMES[zone]}): {counts[zone][row]!r} is not a "
                f"non-negative integer count")
        typed.append(values.alias(zone))
    return pl.DataFrame([stamps[TIMESTAMP], *typed])


def read_window_csv(path: str | Path, timezone: str) -> pl.DataFrame:
    """A CSV window, read as text by the raw reader, then typed by :func:`recent_counts`."""
    try:
        frame = read_raw(path).drop(ROW)
    except RawFormatError as exc:
        raise WindowInputError(str(exc)) from exc
    return recent_counts(frame, timezone, source=str(path))


def window_inputs(
    counts: pl.DataFrame, window: int, horizon: int, week_period_days: float, source: str = "input",
) -> tuple[np.ndarray, list]:
    """Model inputs ``(n, window, features)`` for every complete window, and each window's
    target time (its last row plus ``horizon`` intervals)."""
    if counts.height < window:
        raise WindowInputError(
            f"{source}: {counts.height} row(s); the model needs at least {window} consecutive "
            f"{INTERVAL_MINUTES}-minute intervals")
    step = timedelta(minutes=INTERVAL_MINUTES)
    local = counts[TIMESTAMP].to_list()
    # Arithmetic in UTC: aware datetimes sharing a zone subtract as wall-clock times, which
    # is wrong across a change of time.
    times = counts[TIMESTAMP].dt.convert_time_zone("UTC").to_list()
    for i in range(1, len(times)):
        if times[i] - times[i - 1] != step:
            raise WindowInputError(
                f"{source}: rows {i} and {i + 1} ({local[i - 1]} then {local[i]}) are not "
                f"{INTERVAL_MINUTES} minutes apart: a window must be consecutive intervals")
    table = add_calendar_features(counts, week_period_days)
    values = table.select(FEATURES).to_numpy().astype(np.float32)
    ends = np.arange(window - 1, counts.height)
    x = values[ends[:, None] - np.arange(window - 1, -1, -1)[None, :]]
    zone = local[0].tzinfo
    targets = [(times[e] + horizon * step).astimezone(zone) for e in ends]
    return x, targets
