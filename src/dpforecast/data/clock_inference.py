"""Whether a file's intervals follow real time or the local clock, read from its times.

Counts are cut either every ``interval`` minutes of real time (absolute: the steps in UTC
are even, and the wall clock jumps at a change of time) or at the wall clock's multiples
of the interval (local: the wall clock steps evenly, and the interval holding a change of
time is longer or shorter in real time: 2-hour counts then step 3 hours in UTC there).
The two differ only at the changes of time, so only rows on both sides of one tell them
apart. :func:`infer_clock` is the one place that decides; a spec states the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from dpforecast.data.clock import Clock


@dataclass(frozen=True)
class InferredClock:
    """``absolute`` (every interval lasts the same real time) or ``local`` (intervals start
    at the wall clock's multiples of the interval), and the evidence, in words."""

    kind: Literal["absolute", "local"]
    why: str


def _skipped(wall: datetime, zone: ZoneInfo) -> bool:
    """A wall-clock time the zone never shows (skipped when the clocks go forward)."""
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall


def _wall_even(before: datetime, after: datetime, step: timedelta, zone: ZoneInfo) -> bool:
    """The wall clock goes from ``before`` to ``after`` by one step, or by several whose
    intermediate times the clock never shows."""
    if after - before == step:
        return True
    slots = (after - before) // step
    return (after - before) % step == timedelta(0) and slots > 1 and all(
        _skipped(before + k * step, zone) for k in range(1, slots))


def infer_clock(utc: pl.Series, wall: pl.Series, timezone: str, interval_minutes: int) -> InferredClock:
    """The clock of a file whose distinct times, sorted, are the instants ``utc`` (aware)
    and read ``wall`` (naive) on its local clock in ``timezone``."""
    zone = ZoneInfo(timezone)
    local = utc.dt.convert_time_zone(timezone)
    offsets = (local.dt.base_utc_offset() + local.dt.dst_offset()).dt.total_minutes().to_list()
    changes = [i for i in range(1, len(offsets)) if offsets[i] != offsets[i - 1]]
    if not changes:
        return InferredClock("absolute", f"the file spans no change of time in {timezone}: nothing tells a local "
                                         f"clock from real time, real time assumed")
    step = timedelta(minutes=interval_minutes)
    instants, walls = utc.to_list(), wall.to_list()
    local_at, absolute_at = [], []
    for i in changes:  # where both clocks step evenly (an hour skipped by hourly counts), nothing is told
        real_even, wall_even = instants[i] - instants[i - 1] == step, _wall_even(walls[i - 1], walls[i], step, zone)
        if real_even and not wall_even:
            absolute_at.append(i)
        elif wall_even and not real_even:
            local_at.append(i)
    if local_at and not absolute_at:
        i = local_at[0]
        real = int((instants[i] - instants[i - 1]).total_seconds() // 60)
        return InferredClock("local", f"at {len(local_at)} of {len(changes)} change(s) of time (first "
                                      f"{walls[i - 1]:%Y-%m-%d %H:%M} to {walls[i]:%H:%M}) the wall clock steps "
                                      f"{interval_minutes} minutes and real time {real}: the intervals follow the "
                                      f"local clock")
    on_grid = _on_local_grid(local, interval_minutes)  # the grid as a whole decides what the changes could not
    if on_grid is not None:
        return on_grid
    if absolute_at and not local_at:
        return InferredClock("absolute", f"at {len(absolute_at)} of {len(changes)} change(s) of time the steps stay "
                                         f"{interval_minutes} minutes of real time")
    if absolute_at:
        return InferredClock("absolute", f"the changes of time disagree ({len(absolute_at)} in real time, "
                                         f"{len(local_at)} on the local clock): real time assumed; check the file")
    return InferredClock("absolute", f"none of the {len(changes)} change(s) of time tells them apart (rows missing "
                                     f"there, or both clocks agree): real time assumed")


def _on_local_grid(local: pl.Series, interval_minutes: int) -> InferredClock | None:
    """``local`` if every time starts an interval of the local clock, in order, while some
    steps are off the real-time grid: a change of time where the steps looked even in real
    time (2-hour counts whose skipped 02:00 is written as the change, 03:00, then step one
    real hour to 04:00) tells nothing alone, the grid as a whole does. None otherwise."""
    grid = Clock(interval_minutes, str(local.dtype.time_zone), local=True).positions(local)  # type: ignore[union-attr]
    minutes = local.dt.epoch("s").diff().drop_nulls().to_numpy() / 60
    off_real = np.flatnonzero(minutes % interval_minutes != 0)
    if not (grid.on_grid.all() and (np.diff(grid.index) > 0).all()) or not len(off_real):
        return None
    first = int(off_real[0]) + 1
    return InferredClock("local", f"every time starts an interval of the {interval_minutes}-minute local clock, while "
                                  f"{len(off_real)} step(s) are off the {interval_minutes}-minute grid of real time "
                                  f"(first {int(minutes[first - 1])} minutes to {local[first]:%Y-%m-%d %H:%M%z}): "
                                  f"the intervals follow the local clock")
