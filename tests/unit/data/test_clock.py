"""Interval starts and durations on a local clock and an absolute one, in both hemispheres."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from dpforecast.data.clock import Clock

UTC = ZoneInfo("UTC")
# (zone, day the clocks go forward, day they go back): the southern hemisphere's spring is September.
CHANGES = [("Pacific/Auckland", date(2024, 9, 29), date(2024, 4, 7)),
           ("Europe/Paris", date(2024, 3, 31), date(2024, 10, 27)),
           ("America/New_York", date(2024, 3, 10), date(2024, 11, 3))]
# interval -> (intervals of the day the clocks go forward and their one odd duration, the same going back)
EXPECTED = {30: ((46, None), (48, 90)), 60: ((23, None), (24, 120)), 120: ((12, 60), (12, 180)),
            180: ((8, 120), (8, 240))}


def _stamps(us: np.ndarray, zone: str) -> pl.Series:
    return pl.Series("timestamp", us).cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(zone)


def _day(clock: Clock, day: date) -> tuple[pl.Series, np.ndarray]:
    """The starts of one local day and their durations."""
    starts = _stamps(clock.starts(day, day), clock.timezone)
    return starts[:-1], clock.durations(starts)[:-1]


@pytest.mark.parametrize("interval", sorted(EXPECTED))
@pytest.mark.parametrize(("zone", "forward", "back"), CHANGES)
def test_a_local_clock_has_one_longer_or_shorter_interval_at_each_change(zone, forward, back, interval):
    clock = Clock(interval, zone, local=True)
    for day, (count, odd), hours in ((forward, EXPECTED[interval][0], 23), (back, EXPECTED[interval][1], 25)):
        starts, minutes = _day(clock, day)
        assert len(starts) == count and minutes.sum() == hours * 60
        assert sorted(set(minutes.tolist()) - {interval}) == ([] if odd is None else [odd])
        # every interval starts on the local grid, or at the change of time it holds
        walls = starts.dt.hour().cast(pl.Int64) * 60 + starts.dt.minute().cast(pl.Int64)
        off = starts.filter(walls % interval != 0)
        assert off.len() == (1 if (day, interval) == (forward, 120) else 0)  # 03:00 after the skipped 02:00
    ordinary = _day(clock, forward - timedelta(days=3))[1]
    assert (ordinary == interval).all() and len(ordinary) == 1440 // interval


def test_two_hour_intervals_last_three_hours_and_one_hour_in_auckland():
    clock = Clock(120, "Pacific/Auckland", local=True)
    back, minutes = _day(clock, date(2024, 4, 7))
    assert (back[1].isoformat(), minutes[1]) == ("2024-04-07T02:00:00+13:00", 180.0)  # 02:00 NZDT to 04:00 NZST
    forward, minutes = _day(clock, date(2024, 9, 29))
    # 02:00 NZST is skipped: the 02:00-04:00 interval starts at the change (03:00 NZDT) and lasts an hour
    assert (forward[1].isoformat(), minutes[1]) == ("2024-09-29T03:00:00+13:00", 60.0)


def test_an_absolute_clock_steps_in_real_time():
    clock = Clock(120, "Pacific/Auckland")
    origin = datetime(2024, 4, 7, 0, tzinfo=ZoneInfo("Pacific/Auckland"))
    assert [t.isoformat() for t in clock.later(origin, 3)] == [
        "2024-04-07T02:00:00+13:00", "2024-04-07T03:00:00+12:00", "2024-04-07T05:00:00+12:00"]
    assert (clock.durations(pl.Series([origin])) == 120).all()


@pytest.mark.parametrize(("zone", "origin", "expected"), [
    ("Pacific/Auckland", "2024-04-07T00:00:00+13:00",
     ["2024-04-07T02:00:00+13:00", "2024-04-07T04:00:00+12:00", "2024-04-07T06:00:00+12:00"]),
    ("Pacific/Auckland", "2024-09-29T00:00:00+12:00",
     ["2024-09-29T03:00:00+13:00", "2024-09-29T04:00:00+13:00", "2024-09-29T06:00:00+13:00"]),
    ("Europe/Paris", "2024-10-27T00:00:00+02:00",
     ["2024-10-27T02:00:00+02:00", "2024-10-27T04:00:00+01:00", "2024-10-27T06:00:00+01:00"]),
])
def test_leads_follow_the_local_clock_across_a_change(zone, origin, expected):
    start = datetime.fromisoformat(origin).astimezone(ZoneInfo(zone))
    assert [t.isoformat() for t in Clock(120, zone, local=True).later(start, 3)] == expected


def test_consecutive_rows_are_consecutive_starts_of_the_clock():
    local = Clock(120, "Europe/Paris", local=True)
    starts = _stamps(local.starts(date(2024, 10, 26), date(2024, 10, 27)), "Europe/Paris")
    rows = np.arange(len(starts) - 1)
    assert local.consecutive(starts, rows, rows + 1, 1).all()
    assert not Clock(120, "Europe/Paris").consecutive(starts, rows, rows + 1, 1).all()  # the 3-hour step
    holed = pl.concat([starts[:14], starts[15:]])
    assert local.consecutive(holed, np.array([13]), np.array([14]), 2).all()
    assert not local.consecutive(holed, np.array([13]), np.array([14]), 1).any()
    shifted = starts.dt.offset_by("1h")  # every row an hour off the grid
    assert not local.consecutive(shifted, np.array([0]), np.array([1]), 1).any()


@pytest.mark.parametrize(("interval", "wall", "expected"), [
    (120, "2024-09-29 02:00", "2024-09-29T03:00:00+13:00"),  # skipped, but its interval lasts an hour: the change
    (180, "2024-09-29 03:00", "2024-09-29T03:00:00+13:00"),
    (60, "2024-09-29 02:00", None),  # the skip swallows the whole interval
    (120, "2024-09-29 02:30", None),  # skipped and off the grid
    (120, "2024-04-07 02:00", "2024-04-07T02:00:00+13:00"),  # repeated: its first showing
    (120, "2024-04-07 04:00", "2024-04-07T04:00:00+12:00"),
])
def test_local_cells_are_read_as_interval_starts(interval, wall, expected):
    walls = pl.Series([datetime.fromisoformat(wall)])
    [got] = Clock(interval, "Pacific/Auckland", local=True).read_starts(walls).to_list()
    assert (got.isoformat() if got else None) == expected
