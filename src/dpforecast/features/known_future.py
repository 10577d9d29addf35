"""Known-future inputs: the calendar of the intervals a window forecasts, read at its origin.

A holiday or a Sunday tomorrow is known today, so a model may read it for every lead
without looking ahead at a count. Rather than a second input tensor (which every engine,
DP-SGD's per-sample gradients and serving would have to carry), each table row gets the
calendar of the interval ``horizon`` steps after it, on the data set's clock: in a window
of at least ``horizon`` rows, the last ``horizon`` rows then carry the calendar of leads 1
to ``horizon`` in order, and the networks and ridge read them as any other input column.
Each column is a function of a row's timestamp and the spec's public calendar only, never
of a count, so it is computed alike for training, backtests and a served window whose
targets lie beyond the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import polars as pl

from dpforecast.data.clock import Clock
from dpforecast.data.holiday_calendar import HolidayCalendar
from dpforecast.data.schema import TIMESTAMP

#: The columns of each known-future input (features.known_future), in the order models read them.
KNOWN_FUTURE_COLUMNS: dict[str, tuple[str, ...]] = {
    "holidays": ("future_holiday",),
    "day_of_week": tuple(f"future_dow_{d}" for d in range(7)),  # Monday = 0
    "events": ("future_event",),
}


def known_future_columns(inputs: Sequence[str]) -> list[str]:
    """The columns ``inputs`` add, in :data:`KNOWN_FUTURE_COLUMNS`'s order (whatever the list's)."""
    unknown = sorted(set(inputs) - set(KNOWN_FUTURE_COLUMNS))
    if unknown:
        raise ValueError(f"unknown known-future input(s) {unknown}; use {list(KNOWN_FUTURE_COLUMNS)}")
    return [c for name, cols in KNOWN_FUTURE_COLUMNS.items() if name in inputs for c in cols]


def present_columns(columns: Sequence[str]) -> list[str]:
    """The known-future columns a table has, in the models' order."""
    return [c for c in known_future_columns(list(KNOWN_FUTURE_COLUMNS)) if c in columns]


def target_dates(stamps: pl.Series, steps: int, clock: Clock) -> pl.Series:
    """The local day of the interval ``steps`` after each stamp's: stepped in real time on an
    absolute clock, on the wall clock on a local one (as :meth:`Clock.later` steps)."""
    shift = timedelta(minutes=steps * clock.interval_minutes)
    if clock.local:
        return (stamps.dt.replace_time_zone(None) + shift).dt.date()
    return (stamps + shift).dt.date()


def add_known_future(table: pl.DataFrame, inputs: Sequence[str], horizon: int, clock: Clock,
                     calendar: HolidayCalendar) -> pl.DataFrame:
    """``table`` with each input's columns: the calendar of the interval ``horizon`` steps
    after each row (nothing added for no input)."""
    if not inputs:
        return table
    known_future_columns(inputs)  # refuses an unknown name
    days = target_dates(table[TIMESTAMP], horizon, clock)
    columns: list[pl.Series] = []
    if "holidays" in inputs:
        columns.append(pl.Series("future_holiday", calendar.holiday_flags(days).astype(np.float64)))
    if "day_of_week" in inputs:
        weekday = days.dt.weekday().to_numpy() - 1  # polars: Monday = 1
        columns += [pl.Series(f"future_dow_{d}", (weekday == d).astype(np.float64)) for d in range(7)]
    if "events" in inputs:
        columns.append(pl.Series("future_event", calendar.event_flags(days).astype(np.float64)))
    return table.with_columns(columns).select(*table.columns, *present_columns([c.name for c in columns]))
