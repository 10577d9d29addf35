"""Which IANA time zones a file's UTC offsets belong to.

An ISO 8601 cell with an offset states its instant and the local clock's offset at it.
The zones whose offset is that one at every instant of a file are the zones the file may
be in: validation names them when a spec's zone disagrees with the file
(:mod:`dpforecast.validation.fixes`), and ``dpforecast datasets add`` chooses among them
(:func:`infer_timezone`). Between two changes of time every zone of a region agrees, so
a whole year of offsets usually narrows the candidates to a few; the file's or data
set's name (a city) then picks one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo, available_timezones

import polars as pl

_REGIONS = ("Africa/", "America/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/", "Antarctica/")
_SHOWN_ZONES = 3


@cache
def place_zones() -> tuple[str, ...]:
    """The IANA zones of places, without aliases ("NZ", "US/Pacific") or links kept for
    old names: tzdata's ``zone1970.tab``, or the region zones where it is not installed."""
    try:
        table = files("tzdata.zoneinfo").joinpath("zone1970.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        return tuple(n for n in sorted(available_timezones()) if n.startswith(_REGIONS))
    return tuple(sorted(line.split("\t")[2] for line in table.splitlines() if line and not line.startswith("#")))


def offset_text(minutes: int) -> str:
    """``-90`` as ``-01:30``."""
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def written_minutes(offset: pl.Expr) -> pl.Expr:
    """An offset as written (``+13:00``, ``-0330``, ``Z``) in minutes east of UTC."""
    parts = offset.str.replace(r"^Z$", "+00:00").str.extract_groups(r"^([+-])(\d{2}):?(\d{2})$")
    minutes = parts.struct[1].cast(pl.Int64) * 60 + parts.struct[2].cast(pl.Int64)
    return pl.when(parts.struct[0] == "-").then(-minutes).otherwise(minutes)


def zones_with_offsets(instants: pl.Series, minutes: pl.Series) -> list[str]:
    """The IANA zones of places (a fixed ``Etc/`` offset if none) whose UTC offset is
    ``minutes`` at every one of ``instants`` (UTC), by name."""
    frame = pl.DataFrame({"utc": instants, "seen": minutes}).drop_nulls()
    if not frame.height:
        return []
    # Where the offset changes, and the ends: a zone must agree there before it is checked everywhere.
    change = pl.col("seen") != pl.col("seen").shift(1)
    edges = _points(frame.filter(change.fill_null(True) | change.shift(-1).fill_null(True)))
    every = None
    for candidates in (place_zones(), sorted(n for n in available_timezones() if n.startswith("Etc/"))):
        found = [n for n in candidates if _agrees(n, edges)]
        if found:
            every = every or _points(frame)
            found = [n for n in found if _agrees(n, every)]
        if found:
            return found
    return []


def shown_zones(zones: list[str]) -> str:
    """A few of ``zones``, and how many more."""
    more = f" or {len(zones) - _SHOWN_ZONES} other(s)" if len(zones) > _SHOWN_ZONES else ""
    return ", ".join(zones[:_SHOWN_ZONES]) + more


def _points(frame: pl.DataFrame) -> list[tuple[datetime, int]]:
    return [(t if t.tzinfo else t.replace(tzinfo=UTC), m) for t, m in frame.iter_rows()]


def _agrees(name: str, points: list[tuple[datetime, int]]) -> bool:
    try:
        zone = ZoneInfo(name)
    except (ValueError, OSError):
        return False
    for instant, minutes in points:
        offset = instant.astimezone(zone).utcoffset()
        if offset is None or int(offset.total_seconds() // 60) != minutes:
            return False
    return True


@dataclass(frozen=True)
class InferredTimezone:
    """The zone a new data set's spec gets, the others that fit its file as well, and why."""

    timezone: str
    candidates: tuple[str, ...]
    why: str


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def named_zones(zones: list[str] | tuple[str, ...], names: list[str]) -> list[str]:
    """The zones whose place (``Pacific/Auckland``: auckland) is in one of ``names`` (a
    file's or a data set's name): how a city's file says where it is."""
    said = [_letters(n) for n in names]
    return [z for z in zones if len(place := _letters(z.rsplit("/", 1)[-1])) >= 4 and any(place in s for s in said)]


def infer_timezone(instants: pl.Series, minutes: pl.Series | None, names: list[str]) -> InferredTimezone:
    """A spec's ``timezone`` from a file's instants (UTC) and the offsets written with them
    (None: the times have none): the zones of places whose offsets match every row, the one
    ``names`` mention first; without offsets, or with UTC's only, the zone ``names``
    mention, else UTC, which the user must then correct."""
    if minutes is not None and minutes.drop_nulls().len() and (minutes.drop_nulls() != 0).any():
        seen = ", ".join(offset_text(m) for m in sorted(minutes.drop_nulls().unique().to_list()))
        found = zones_with_offsets(instants, minutes)
        if not found:
            return InferredTimezone("UTC", (), f"no IANA time zone has the offsets {seen} at these instants: "
                                                "set timezone to the counts' local zone")
        named = named_zones(found, names)
        if len(found) == 1:
            return InferredTimezone(found[0], tuple(found), f"the only zone whose UTC offsets ({seen}) match every row")
        if named:
            return InferredTimezone(named[0], tuple(found), f"its UTC offsets ({seen}) match every row, as those of "
                                                            f"{len(found) - 1} other zone(s), and the name says so")
        return InferredTimezone(found[0], tuple(found), f"{len(found)} zones have these UTC offsets ({seen}) at every "
                                                        f"row: {shown_zones(found)}; the first is written, choose yours")
    named = named_zones(place_zones(), names)
    said = "the times carry no offset" if minutes is None else "every time is written in UTC"
    if named:
        return InferredTimezone(named[0], tuple(named), f"{said}; the name says {named[0]}: check it")
    return InferredTimezone("UTC", (), f"{said}, and the name names no place: set timezone to the counts' local "
                                       f"zone (the calendar features follow it)")
