"""A data set's clock: where each interval starts on the time line and how long it lasts.

Two clocks, declared by the spec's ``interval_clock``:

* ``absolute``: every interval lasts ``interval_minutes`` of real time, so across a change
  of time the grid keeps its step and the wall-clock times shift (a repeated hour appears
  twice, a skipped one not at all).
* ``local``: each interval starts when the local clock first shows a multiple of
  ``interval_minutes`` after midnight (or, where that time is skipped, at the change of
  time) and ends where the next one starts, as a city's counts binned on its own clock
  are. The interval that holds a change of time is longer or shorter: a 2-hour interval
  lasts 3 hours when the clocks go back, 1 hour when they go forward; one that the skip
  swallows whole (02:00-02:30 at 30 minutes) does not exist.

Each interval's duration is computed here once, from the declaration, the time zone and
the interval, and read by validation (the next row's expected start), windows (which rows
are consecutive), the models (counts per nominal interval) and serving (lead times and
each target's duration). Below the spec: this module imports nothing of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _first_showing(wall: datetime, zone: ZoneInfo) -> int:
    """Microseconds since the epoch of the first instant the clock of ``zone`` shows
    ``wall`` or later: for a time a change skips, the instant of the change (searched to
    the second between the two readings of the skipped time)."""
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())  # read with the offset after the change: earlier
    high = int(wall.replace(tzinfo=zone, fold=0).timestamp())  # with the offset before it: later
    while low < high:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= wall:
            high = mid
        else:
            low = mid + 1
    return high * _US


def first_showings(walls: pl.Series, timezone: str) -> pl.Series:
    """The instants (UTC, microseconds) when the local clock first shows each naive wall
    time of ``walls``: a repeated time's earlier reading, a skipped time's change of time;
    null stays null."""
    local = walls.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    out = local.dt.epoch("us").cast(pl.Int64)
    skipped = np.flatnonzero(local.is_null().to_numpy() & walls.is_not_null().to_numpy())
    if not len(skipped):
        return out
    zone = ZoneInfo(timezone)
    return out.scatter(skipped, [_first_showing(walls[int(i)], zone) for i in skipped])


@dataclass(frozen=True)
class GridPositions:
    """Stamps on a local-clock grid: each stamp's index among the interval starts of the
    days around them (only differences mean anything) and whether it is a start."""

    index: np.ndarray
    on_grid: np.ndarray


@dataclass(frozen=True)
class Clock:
    """A data set's intervals on the time line: ``interval_minutes`` long in real time
    (``local`` False), or each from one local wall-clock start to the next (``local``)."""

    interval_minutes: int
    timezone: str
    local: bool = False

    @property
    def name(self) -> str:
        """``120-minute`` or ``120-minute local-clock``: how messages name the grid."""
        return f"{self.interval_minutes}-minute" + (" local-clock" if self.local else "")

    @property
    def expected_step(self) -> str:
        """The step from one row to the next, in words (validation's message)."""
        if self.local:
            return (f"the previous interval's duration ({self.interval_minutes} minutes, longer or shorter across a "
                    f"change of time)")
        return str(self.interval_minutes)

    @property
    def apart(self) -> str:
        """What two consecutive rows are, in words (serving's message)."""
        if self.local:
            return f"consecutive starts of the {self.interval_minutes}-minute local clock"
        return f"{self.interval_minutes} minutes apart"

    def starts(self, first: date, last: date) -> np.ndarray:
        """Sorted microseconds since the epoch of every local-clock interval start of the
        local days ``first`` to ``last`` (both included), and the start after them."""
        walls = pl.datetime_range(datetime.combine(first, datetime.min.time()),
                                  datetime.combine(last + timedelta(days=1), datetime.min.time()),
                                  f"{self.interval_minutes}m", time_unit="us", eager=True)
        # A start the change of time swallows shares its instant with the next: one interval.
        return np.unique(first_showings(walls, self.timezone).to_numpy())

    def read_starts(self, walls: pl.Series) -> pl.Series:
        """Naive local times of interval starts (a local clock's cells) as instants in the
        zone: a repeated time is its first showing; a skipped time on the grid is the
        change of time when its interval outlasts the skip (02:00 of 2-hour counts), null
        when the skip swallows it (02:00 of 30-minute ones) or when it is off the grid."""
        first = first_showings(walls, self.timezone)
        ends = first_showings(walls + timedelta(minutes=self.interval_minutes), self.timezone)
        exists = walls.dt.replace_time_zone(self.timezone, ambiguous="earliest", non_existent="null").is_not_null()
        minutes = walls.dt.hour().cast(pl.Int64) * 60 + walls.dt.minute().cast(pl.Int64)
        on_grid = (minutes % self.interval_minutes == 0) & (walls.dt.second() == 0) & (walls.dt.microsecond() == 0)
        keep = exists | (on_grid & (ends > first))
        return first.scatter(np.flatnonzero(~keep.fill_null(False).to_numpy()), None).cast(
            pl.Datetime("us", "UTC")).dt.convert_time_zone(self.timezone)

    def _grid(self, us: np.ndarray, after: int = 0) -> np.ndarray:
        """The local starts of the days around ``us`` (at least ``after`` more intervals)."""
        zone = ZoneInfo(self.timezone)
        first = datetime.fromtimestamp(int(us.min()) / _US, zone).date() - timedelta(days=1)
        last = datetime.fromtimestamp(int(us.max()) / _US, zone).date() + timedelta(
            days=1 + -(-after * self.interval_minutes // 1440))
        return self.starts(first, last)

    def positions(self, stamps: pl.Series) -> GridPositions:
        """Where ``stamps`` sit on the local clock's grid of the days around them; null
        stamps are off it."""
        us = stamps.dt.epoch("us").to_numpy()
        known = ~stamps.is_null().to_numpy()
        if not known.any():
            return GridPositions(np.zeros(len(us), np.int64), np.zeros(len(us), bool))
        grid = self._grid(us[known])
        filled = np.where(known, us, grid[0])
        index = np.searchsorted(grid, filled).clip(0, len(grid) - 1)
        return GridPositions(index.astype(np.int64), known & (grid[index] == filled))

    def consecutive(self, stamps: pl.Series, first: np.ndarray, last: np.ndarray, steps: int) -> np.ndarray:
        """True where row ``last`` of ``stamps`` starts exactly ``steps`` intervals after row
        ``first`` (nothing missing between them, nothing off the grid)."""
        if not self.local:  # in real time: the step times the interval, to the microsecond
            us = stamps.dt.epoch("us").to_numpy()
            return (us[last] - us[first]) == steps * self.interval_minutes * 60 * _US
        at = self.positions(stamps)
        return at.on_grid[first] & at.on_grid[last] & ((at.index[last] - at.index[first]) == steps)

    def durations(self, stamps: pl.Series) -> np.ndarray:
        """Minutes (float) from each stamp to the next interval start: the duration of the
        interval a stamp on the grid starts."""
        if not self.local:
            return np.full(stamps.len(), float(self.interval_minutes))
        us = stamps.dt.epoch("us").to_numpy()
        if not len(us):
            return np.zeros(0)
        grid = self._grid(us)
        following = grid[np.searchsorted(grid, us, side="right")]
        return (following - us) / (60 * _US)

    def later(self, stamp: datetime, count: int) -> list[datetime]:
        """The starts of the ``count`` intervals after the one ``stamp`` starts, in
        ``stamp``'s zone (absolute: stepped in UTC, since wall-clock addition is wrong
        across a change of time)."""
        if count < 1:
            return []
        if not self.local:
            utc = stamp.astimezone(UTC)
            return [(utc + k * timedelta(minutes=self.interval_minutes)).astimezone(stamp.tzinfo)
                    for k in range(1, count + 1)]
        us = np.array([_us(stamp)])
        grid = self._grid(us, after=count)
        i = int(np.searchsorted(grid, us[0], side="right"))
        return [(_EPOCH + timedelta(microseconds=int(t))).astimezone(stamp.tzinfo) for t in grid[i:i + count]]
