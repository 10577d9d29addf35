"""``dpforecast predict``: a registered model's forecast of the next horizon from a CSV of
recent counts (a window, or the data set's file itself), every lead with its 80% and 95%
intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import polars as pl

from dpforecast.data.schema import TIMESTAMP
from dpforecast.models.conformal import Intervals
from dpforecast.runtime.io import write_with
from dpforecast.serving.complete_windows import last_complete_stretch
from dpforecast.serving.window import (
    BOUNDS,
    DURATION,
    FORECAST,
    LEAD,
    ORIGIN_TIME,
    TARGET_TIME,
    ZONE,
    check_served,
    read_window_csv,
    window_inputs,
)


@dataclass(frozen=True)
class Forecast:
    """The served table (one row per window, lead and zone), the zones' display names, one
    line on what the intervals are, and one on the input where the forecast starts before
    its last interval (empty otherwise)."""

    table: pd.DataFrame
    names: dict[str, str]
    interval_note: str
    interval_minutes: int  # the nominal interval: a target lasting otherwise says so
    input_note: str = ""


def forecast_csv(model_uri: str, csv: Path, every_window: bool = False) -> Forecast:
    """The served model's forecast after the last complete window of ``csv`` (with
    ``every_window``, of every complete window of the last complete stretch). The CSV is
    in the layout of the model's data set (its data file itself, rows in any order) or the
    short one. Resolves ``models:/NAME@ALIAS`` in the current store."""
    import mlflow

    model = mlflow.pyfunc.load_model(model_uri)
    served = model.unwrap_python_model()
    check_served(served, model_uri)
    window, spec = served.model.spec.window, served.dataset
    counts = read_window_csv(csv, spec, served.zones)
    # Refused here, naming the file, rather than inside the pyfunc, which only sees a table.
    stretch = last_complete_stretch(counts, window, spec.clock, spec.zone_names, source=str(csv))
    counts = stretch.counts if every_window else stretch.counts.tail(window)
    window_inputs(counts, window, served.params["features.week_period_days"], source=str(csv), clock=spec.clock,
                  known_future=served.params.get("features.known_future") or (), horizon=served.model.spec.horizon,
                  calendar=spec.calendar)
    frame = counts.select(pl.col(TIMESTAMP).dt.to_string("%Y-%m-%dT%H:%M:%S%:z"), *served.zones).to_pandas()
    return Forecast(model.predict(frame), spec.zone_names, interval_note(served.intervals, served.private),
                    spec.interval_minutes, stretch.note)


def interval_note(intervals: Intervals | None, private: bool) -> str:
    """Where the intervals come from, and a warning a user cannot miss when the model's
    privacy guarantee does not extend to them (DP-SGD: calibrated on raw counts)."""
    if intervals is None:
        return ("no intervals: the model has none (trained without a validation block, or under DP-SGD without "
                "privacy.gp.intervals)")
    levels = " and ".join(f"{round(level * 100)}%" for level in intervals.levels)
    if private and not intervals.covered:
        return f"{levels} intervals: split conformal, NOT covered by the model's privacy guarantee"
    return f"{levels} intervals: split conformal, {intervals.source}"


def _people(value: float) -> str:
    return "-" if math.isnan(value) else str(round(value))


def _interval(row: pd.Series, level: float) -> str:
    low, high = BOUNDS[level]
    return f"[{_people(row[low])}, {_people(row[high])}]"


def _clock(iso: str) -> str:
    """``2020-11-05T00:00:00+01:00`` as ``11-05 00:00+01:00``: the offset keeps the
    repeated hour of a change of time apart."""
    return f"{iso[5:10]} {iso[11:16]}{iso[19:]}"


def _target(row: pd.Series, nominal: int) -> str:
    """The target's start, and its length where a change of time makes it other than nominal."""
    minutes = int(row[DURATION])
    return _clock(row[TARGET_TIME]) + ("" if minutes == nominal else f" ({minutes} min)")


def _zone_cells(rows: pd.DataFrame, zone: str, name: str, nominal: int) -> list[list[str]]:
    """One zone's lines, lead 1 first; its id and name on the first only."""
    return [[zone if i == 0 else "", name if i == 0 else "", str(row[LEAD]), _target(row, nominal),
             _people(row[FORECAST]), *(_interval(row, level) for level in BOUNDS)]
            for i, (_, row) in enumerate(rows.iterrows())]


def last_window_table(forecast: Forecast) -> str:
    """The last window's forecast, zone by zone and lead by lead, rounded to whole people."""
    table = forecast.table
    last = table[table[ORIGIN_TIME] == table[ORIGIN_TIME].iloc[-1]]
    horizon = int(last[LEAD].max())
    blocks = [_zone_cells(last[last[ZONE] == z], z, forecast.names.get(z, z), forecast.interval_minutes)
              for z in dict.fromkeys(last[ZONE])]
    header = ["zone", "name", "lead", "time", "people", *(f"{round(level * 100)}%" for level in BOUNDS)]
    widths = [max(len(r[c]) for r in [header, *(r for b in blocks for r in b)]) for c in range(len(header))]
    align = "<<><>>>"  # text left, numbers right

    def line(cells: list[str]) -> str:
        return "  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(cells, align, widths, strict=True)).rstrip()

    first, final = last[TARGET_TIME].iloc[0], last[TARGET_TIME].iloc[-1]
    span = first if horizon == 1 else f"{first} to {final}"
    lines = [f"forecast from {last[ORIGIN_TIME].iloc[0]} for {span} ({horizon} lead{'s' * (horizon > 1)})",
             *([forecast.input_note] if forecast.input_note else []), forecast.interval_note, line(header)]
    for block in blocks:
        lines += [""] * (horizon > 1) + [line(r) for r in block]  # a blank line between zones' leads
    return "\n".join(lines)


def write_forecasts(forecast: Forecast, path: Path) -> Path:
    """The whole table (every window, lead and zone) as CSV, whole or not at all."""
    return write_with(path, lambda tmp: forecast.table.to_csv(tmp, index=False))
