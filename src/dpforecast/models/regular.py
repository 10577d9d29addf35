"""The series a model that reads history (not windows) sees: a regular grid, filled causally.

Statistical methods and zero-shot models read a zone's past as one series of equal steps,
whereas the feature table skips what the data set lacks (a missing day, the repeated hour of
a change of time) and may hold missing counts. Here each table row takes its place on a grid
of the data set's interval in absolute time (or, for a data set on the local clock, whose
intervals at a change of time are longer or shorter, on the grid of its wall-clock starts:
the table then holds counts per nominal interval), a grid step with no row or no count is NaN,
and :func:`causal_fill` fills it from the past only (the same time one season earlier, else
the last count), so the filled value at a step never depends on anything after it: cutting
the filled series at a forecast origin gives what was known there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from dpforecast.data.schema import TIMESTAMP


@dataclass(frozen=True)
class RegularSeries:
    """``values`` ``(steps, zones)`` on the grid (NaN where absent) and ``position``, each
    table row's grid step."""

    values: np.ndarray
    position: np.ndarray

    def lead_steps(self, target_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For windows' target rows ``(n, horizon)`` (lead 1 first): each origin's grid step
        (the row before lead 1) and each target's steps after it ``(n, horizon)``; equal to
        the leads unless a window straddles a gap (``data.contiguous``)."""
        origins = self.position[target_rows[:, 0] - 1]
        return origins, self.position[target_rows] - origins[:, None]


def regular_series(table: pl.DataFrame, zones: list[str], interval_minutes: int, read: int | None = None) -> RegularSeries:
    """``table``'s counts of ``zones`` on a grid of ``interval_minutes`` from its first row;
    only the first ``read`` rows' counts (all by default): later rows only place the targets
    in time, their counts stay NaN."""
    position = _grid_positions(table[TIMESTAMP], interval_minutes)
    values = np.full((int(position[-1]) + 1, len(zones)), np.nan)
    read = table.height if read is None else read
    values[position[:read]] = table.head(read).select(zones).to_numpy().astype(np.float64)  # a missing count is NaN
    return RegularSeries(values, position)


def _grid_positions(stamps: pl.Series, interval_minutes: int) -> np.ndarray:
    """Each row's step on the grid: in absolute time when every row is a whole number of
    intervals after the first; else on the wall clock (a local-clock data set: the interval
    holding a change of time lasts longer or shorter, and the one a skipped hour starts is
    written at the change, e.g. 03:00 for the 02:00 of 2-hour counts, hence the floor)."""
    step = interval_minutes * 60
    offsets = stamps.dt.epoch("s").to_numpy() - int(stamps.dt.epoch("s")[0])
    if not (offsets % step).any() and (np.diff(offsets) > 0).all():
        return (offsets // step).astype(np.int64)
    wall = stamps.dt.replace_time_zone(None).dt.epoch("s").to_numpy()
    position = (wall - wall[0]) // step
    if (np.diff(position) <= 0).any():
        raise ValueError(f"the table's timestamps are not increasing steps of {interval_minutes} minutes, in real "
                         f"time nor on the local clock")
    return position.astype(np.int64)


def causal_fill(values: np.ndarray, season: int) -> np.ndarray:
    """``values`` ``(steps, zones)`` with each NaN after a zone's first count filled from the
    past: the filled value one ``season`` earlier when there is one, else the last value.
    NaN before a zone's first count stays NaN (no past to fill from)."""
    out = np.array(values, dtype=np.float64, copy=True)
    for t in np.flatnonzero(np.isnan(out).any(axis=1)):  # in time order: earlier fills feed later ones
        holes = np.isnan(out[t])
        if t >= season:
            out[t, holes] = out[t - season, holes]
            holes = np.isnan(out[t])
        if t >= 1 and holes.any():
            out[t, holes] = out[t - 1, holes]
    return out


def first_counts(values: np.ndarray) -> np.ndarray:
    """Per zone, the grid step of its first count (``len(values)`` for a zone with none)."""
    present = np.isfinite(values)
    return np.where(present.any(axis=0), present.argmax(axis=0), len(values))
