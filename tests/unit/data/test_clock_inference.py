"""Real-time or local-clock intervals, told apart at the changes of time of both hemispheres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from local_clock import local_clock

from dpforecast.data.clock_inference import infer_clock


def real_time(zone: str, minutes: int, start: datetime, days: int) -> list[datetime]:
    first = start.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return [(first + timedelta(minutes=k * minutes)).astimezone(ZoneInfo(zone)) for k in range(days * 1440 // minutes)]


def series(stamps: list[datetime]) -> tuple[pl.Series, pl.Series]:
    utc = pl.Series([t.astimezone(UTC) for t in stamps])
    return utc, pl.Series([t.replace(tzinfo=None) for t in stamps])


@pytest.mark.parametrize(("zone", "start"), [("Pacific/Auckland", datetime(2024, 3, 1)),
                                             ("Europe/Paris", datetime(2024, 3, 1))])
@pytest.mark.parametrize("minutes", [60, 120])
def test_a_local_clock_is_told_from_real_time_in_both_hemispheres(zone: str, start: datetime, minutes: int):
    local = infer_clock(*series(local_clock(zone, minutes, start, 250)), zone, minutes)
    assert local.kind == "local" and "of 2 change(s) of time" in local.why
    absolute = infer_clock(*series(real_time(zone, minutes, start, 250)), zone, minutes)
    assert absolute.kind == "absolute" and f"stay {minutes} minutes" in absolute.why


def test_without_a_change_of_time_nothing_tells_them_apart():
    clock = infer_clock(*series(local_clock("Pacific/Auckland", 120, datetime(2024, 5, 1), 30)), "Pacific/Auckland", 120)
    assert clock.kind == "absolute" and "spans no change of time" in clock.why


def test_a_spring_change_written_as_the_change_itself_is_read_on_the_local_grid():
    """2-hour counts whose skipped 02:00 is written as the change, 03:00+13:00: the step into it
    is even in real time (00:00+12 to 03:00+13 is 120 minutes), the step after it one real
    hour. The change alone tells nothing; every time being a local-clock start does."""
    from dpforecast.data import synthetic

    frame = synthetic.generate(1, 10, 120, start="2024-09-25", timezone="Pacific/Auckland", hierarchy=False,
                               interval_clock="local")
    stamps = frame["timestamp"]
    assert [t.isoformat() for t in stamps.filter(stamps.dt.date() == datetime(2024, 9, 29).date())[:3]] == [
        "2024-09-29T00:00:00+12:00", "2024-09-29T03:00:00+13:00", "2024-09-29T04:00:00+13:00"]
    clock = infer_clock(stamps.dt.convert_time_zone("UTC"), stamps.dt.replace_time_zone(None), "Pacific/Auckland", 120)
    assert clock.kind == "local" and "every time starts an interval of the 120-minute local clock" in clock.why
    absolute = real_time("Pacific/Auckland", 120, datetime(2024, 9, 25), 10)
    assert infer_clock(*series(absolute), "Pacific/Auckland", 120).kind == "absolute"
