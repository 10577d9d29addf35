"""Times of counts cut on the local clock: each interval starts when the wall clock first shows
a multiple of the interval, so the one holding a change of time is longer or shorter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def local_clock(zone: str, minutes: int, start: datetime, days: int) -> list[datetime]:
    """``days`` of intervals from local ``start`` (naive), aware in ``zone``; a skipped wall
    time has none, a repeated one its first reading."""
    tz, out = ZoneInfo(zone), []
    for k in range(days * 1440 // minutes):
        wall = start + timedelta(minutes=k * minutes)
        aware = wall.replace(tzinfo=tz)  # fold 0: the first time the clock shows it
        if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall:  # not skipped
            out.append(aware)
    return out
