"""Recent counts in, model inputs out, forecasts out: the one way a served model sees data.

A window of recent counts is a table of consecutive intervals, either in the data set's
own layout (as its spec declares: the columns and time cells of its files, wide or long)
or in the short one (``timestamp`` as ISO 8601 with its UTC offset, then the zone ids).
Every complete window of ``window`` rows is one forecast origin (its last row's time); the
model forecasts leads ``1..horizon`` after it. Bad input is refused with the row and the
reason, never silently repaired: a forecast from a window with a hole in it would look
plausible and be wrong. :func:`forecast_table` is the served answer: one row per window,
lead and zone (:data:`SERVED_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from dpforecast.data.clock import Clock
from dpforecast.data.holiday_calendar import HolidayCalendar
from dpforecast.data.ingest import RawFormatError, read_raw
from dpforecast.data.schema import ROW, TIMESTAMP
from dpforecast.data.spec import DatasetSpec
from dpforecast.features.calendar import add_calendar_features
from dpforecast.features.known_future import add_known_future
from dpforecast.features.rates import as_counts, duration_ratios, per_nominal_interval
from dpforecast.features.windows import feature_columns
from dpforecast.models.conformal import LEVELS, Intervals

ORIGIN_TIME, TARGET_TIME, LEAD, ZONE, FORECAST = "origin_time", "target_time", "lead", "zone", "forecast"
DURATION = "duration_minutes"  # the target interval's length (longer or shorter on a local clock)
# Each interval level's (lower, upper) columns: lower_80, upper_80, lower_95, upper_95.
BOUNDS = {level: (f"lower_{round(level * 100)}", f"upper_{round(level * 100)}") for level in LEVELS}
SERVED_COLUMNS = [ORIGIN_TIME, TARGET_TIME, DURATION, LEAD, ZONE, FORECAST,
                  *(c for pair in BOUNDS.values() for c in pair)]


class WindowInputError(ValueError):
    """The recent counts cannot make a model input (named column, row and reason)."""


class ServedFormatError(ValueError):
    """A registered model was logged by an earlier dpforecast whose served code and output
    (one step, no intervals) this version cannot run or read."""


def check_served(served: object, model_uri: str) -> None:
    """Refuse, by name, a model logged before multi-step serving (it has no intervals): its
    own pyfunc code would call this version's functions with the old arguments."""
    if not hasattr(served, "intervals"):
        raise ServedFormatError(
            f"{model_uri} was logged by an earlier dpforecast (one-step output, no intervals) and cannot be served "
            f"or scored by this one: train and register a new version (dvc repro), or move its alias to one")


def _from_source_layout(frame: pl.DataFrame, spec: DatasetSpec, source: str) -> pl.DataFrame:
    """The data set's own layout read as its spec says (a long file pivoted, whatever its row
    order); rows its policies make gaps (a skipped or repeated time) are left out, as holes."""
    from dpforecast.validation.derive import PARSE_PROBLEM, typed_table

    raw = frame.select(pl.all().cast(pl.String)).with_columns(
        pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias(ROW))
    typed, _ = typed_table(raw, replace(spec, total=None))  # a window needs no total
    bad = typed.filter(pl.col(PARSE_PROBLEM).is_not_null())
    if bad.height:
        raise WindowInputError(f"{source}: line {bad[ROW][0]}: {bad[PARSE_PROBLEM][0]}")
    return typed.select(TIMESTAMP, *(pl.col(z.source).alias(z.id) for z in spec.zones))


def recent_counts(frame: pl.DataFrame, spec: DatasetSpec, zones: list[str], source: str = "input") -> pl.DataFrame:
    """``timestamp`` (timezone-aware, in the data set's zone) and Int64 ``zones`` (null where
    a count is empty or a long file has no row) from either layout, in time order whatever
    the rows' order."""
    columns = [c.strip() for c in frame.columns]
    frame = frame.rename(dict(zip(frame.columns, columns, strict=True)))
    own = [c for c in spec.source_columns() if c not in (*spec.layout.ignored, spec.total)]
    if set(own) <= set(columns):  # the data set's own layout, read as its spec says
        counts = _from_source_layout(frame.select(own), spec, source)
        stamps = counts.select(TIMESTAMP)
    elif {TIMESTAMP, *zones} <= set(columns):
        text = frame[TIMESTAMP].cast(pl.String).str.strip_chars()
        naive = text.str.contains(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$").fill_null(False)
        if naive.any():
            row = int(naive.arg_max())
            raise WindowInputError(f"{source}: row {row + 1}: timestamp {text[row]!r} has no UTC offset "
                                   f"(the short layout needs ISO 8601 with its offset, e.g. +01:00)")
        stamps = pl.DataFrame({TIMESTAMP: text}).select(
            pl.col(TIMESTAMP).str.to_datetime(time_zone="UTC", strict=False).dt.convert_time_zone(spec.timezone))
        counts = frame.select(zones)
    else:
        raise WindowInputError(
            f"{source}: expected columns {[TIMESTAMP, *zones[:8]]}{'...' if len(zones) > 8 else ''} or the "
            f"{spec.name} layout's {own[:8]}{'...' if len(own) > 8 else ''}; got {columns[:12]}")
    bad_time = stamps[TIMESTAMP].is_null()
    if bad_time.any():
        row = int(bad_time.arg_max())
        raise WindowInputError(f"{source}: row {row + 1}: unreadable timestamp (ISO 8601 with offset, or the data set's own)")
    names = spec.zone_names
    typed = []
    for zone in zones:
        if zone not in counts.columns:
            raise WindowInputError(f"{source}: no column for zone {zone} ({names.get(zone, zone)})")
        text = counts[zone].cast(pl.String).str.strip_chars()
        values = text.cast(pl.Int64, strict=False)
        bad = (((text != "") & values.is_null()) | (values < 0)).fill_null(False)  # empty: a missing count
        if bad.any():
            row = int(bad.arg_max())
            raise WindowInputError(
                f"{source}: row {row + 1}, zone {zone} ({names.get(zone, zone)}): {counts[zone][row]!r} is not a "
                f"non-negative integer count")
        typed.append(values.alias(zone))
    return pl.DataFrame([stamps[TIMESTAMP], *typed]).sort(TIMESTAMP, maintain_order=True)


def read_window_csv(path: str | Path, spec: DatasetSpec, zones: list[str]) -> pl.DataFrame:
    """A CSV window, read as text by the raw reader, then typed by :func:`recent_counts`."""
    try:
        frame = read_raw(path, spec.layout.delimiter).drop(ROW)
    except RawFormatError as exc:
        raise WindowInputError(str(exc)) from exc
    return recent_counts(frame, spec, zones, source=str(path))


def served_clock(clock: Clock | None, interval_minutes: int | None, stamps: pl.Series) -> Clock:
    """The clock a served window runs on: the data set's, or (None, as a model logged before
    local clocks calls serving) absolute intervals of ``interval_minutes``."""
    if clock is not None:
        return clock
    if interval_minutes is None:
        raise TypeError("give the data set's clock (or, for an absolute one, interval_minutes)")
    return Clock(interval_minutes, str(stamps.dtype.time_zone))  # type: ignore[attr-defined]


def window_inputs(
    counts: pl.DataFrame, window: int, week_period_days: float, interval_minutes: int | None = None,
    source: str = "input", clock: Clock | None = None, known_future: Sequence[str] = (), horizon: int = 1,
    calendar: HolidayCalendar | None = None,
) -> tuple[np.ndarray, list[datetime]]:
    """Model inputs ``(n, window, features)`` for every complete window (on a local clock,
    counts per nominal interval: :mod:`dpforecast.features.rates`), and each window's
    forecast origin: the time of its last row, in the data set's zone (leads follow it on
    the data set's ``clock``). A model trained with ``known_future`` inputs gets their
    columns for its ``horizon`` from the data set's ``calendar``."""
    clock = served_clock(clock, interval_minutes, counts[TIMESTAMP])
    if counts.height < window:
        raise WindowInputError(
            f"{source}: {counts.height} row(s); the model needs at least {window} consecutive "
            f"{clock.name} intervals")
    local = counts[TIMESTAMP].to_list()
    rows = np.arange(counts.height - 1)
    apart = clock.consecutive(counts[TIMESTAMP], rows, rows + 1, 1)
    if not apart.all():
        i = int(np.argmin(apart)) + 1
        raise WindowInputError(
            f"{source}: rows {i} and {i + 1} ({local[i - 1]} then {local[i]}) are not {clock.apart}: a window "
            f"must be consecutive intervals")
    zones = [c for c in counts.columns if c != TIMESTAMP]
    table = add_known_future(add_calendar_features(per_nominal_interval(counts, zones, clock), week_period_days),
                             known_future, horizon, clock, calendar or HolidayCalendar())
    values = table.select(feature_columns(zones, known_future)).to_numpy().astype(np.float32)
    ends = np.arange(window - 1, counts.height)
    x = values[ends[:, None] - np.arange(window - 1, -1, -1)[None, :]]
    return x, [local[e] for e in ends]


def forecast_table(origins: list[datetime], forecast: np.ndarray, intervals: Intervals | None, zones: list[str],
                   interval_minutes: int | None = None, clock: Clock | None = None,
                   calendar: HolidayCalendar | None = None) -> pl.DataFrame:
    """The served answer to ``forecast`` ``(n, horizon, zones)`` from windows ending at
    ``origins``: one row per window, lead and zone in that order, times as ISO 8601 with
    their offset, each target interval's ``duration_minutes`` (leads follow the origin on
    the data set's ``clock``), its count (on a local clock the model's forecast per
    nominal interval times the target's duration ratio, bounds alike), and NaN bounds
    where there is no interval (no ``intervals``, or too few calibration residuals for
    the level). Intervals calibrated per calendar group take each target day's group in
    the data set's ``calendar``."""
    n, horizon, n_zones = forecast.shape
    forecast = forecast.astype(np.float64)
    clock = served_clock(clock, interval_minutes, pl.Series(origins))
    stamps = pl.Series(TARGET_TIME, [t for origin in origins for t in clock.later(origin, horizon)])
    ratios = duration_ratios(stamps, clock).reshape(n, horizon)
    groups = (calendar.groups(stamps.dt.date()).reshape(n, horizon)
              if calendar is not None and intervals is not None and intervals.group_half_widths else None)
    bounds = {level: (as_counts(low, ratios), as_counts(high, ratios))
              for level, (low, high) in (intervals.bounds(forecast, groups) if intervals is not None else {}).items()}
    forecast = as_counts(forecast, ratios)
    missing = np.full(forecast.size, np.nan)
    columns = {
        ORIGIN_TIME: np.repeat([o.isoformat() for o in origins], horizon * n_zones),
        TARGET_TIME: np.repeat([t.isoformat() for t in stamps.to_list()], n_zones),
        DURATION: np.repeat(np.rint(ratios.ravel() * clock.interval_minutes).astype(np.int64), n_zones),
        LEAD: np.tile(np.repeat(np.arange(1, horizon + 1, dtype=np.int64), n_zones), n),
        ZONE: np.tile(np.asarray(zones, dtype=str), n * horizon),
        FORECAST: forecast.ravel(),
    }
    for level, (low, high) in BOUNDS.items():
        lower, upper = bounds.get(level, (missing, missing))
        columns[low], columns[high] = np.ravel(lower), np.ravel(upper)
    return pl.DataFrame(columns)
