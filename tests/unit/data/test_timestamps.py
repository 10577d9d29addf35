"""Reading time cells as instants the way a spec declares them, across changes of time."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from dpforecast.data import synthetic
from dpforecast.data.spec import Layout, spec_from_dict
from dpforecast.data.timestamps import foreign_offsets, instants, skipped_local

PARIS = ZoneInfo("Europe/Paris")


def _spec(layout: Layout, ambiguous: str = "earliest"):
    frame = synthetic.generate(zones=2, days=1, interval_minutes=60, hierarchy=False)
    spec = spec_from_dict(synthetic.spec_dict(frame, "town", "town.csv"), "town.yaml")
    return replace(spec, layout=layout, ambiguous_times=ambiguous)


def _read(spec, **columns) -> list:
    return pl.DataFrame(columns).select(instants(spec).alias("t"))["t"].to_list()


def test_iso_cells_honour_their_offset_and_naive_ones_are_local():
    spec = _spec(Layout(kind="wide", timestamp="ts"))
    got = _read(spec, ts=["2024-10-27T02:30:00+01:00", "2024-10-27T02:30:00+02:00", "2024-03-10 08:00", "nonsense"])
    assert got[0] == datetime(2024, 10, 27, 1, 30, tzinfo=ZoneInfo("UTC")).astimezone(PARIS)
    assert got[1] == datetime(2024, 10, 27, 0, 30, tzinfo=ZoneInfo("UTC")).astimezone(PARIS)
    assert got[2] == datetime(2024, 3, 10, 8, 0, tzinfo=PARIS) and got[3] is None


@pytest.mark.parametrize(("policy", "utc_hour"), [("earliest", 0), ("latest", 1), ("refuse", None)])
def test_a_repeated_hour_is_read_as_the_spec_says(policy, utc_hour):
    spec = _spec(Layout(kind="wide", timestamp="ts", timestamp_format="%Y-%m-%d %H:%M"), policy)
    [got] = _read(spec, ts=["2024-10-27 02:00"])
    if utc_hour is None:
        assert got is None
    else:
        assert got == datetime(2024, 10, 27, utc_hour, 0, tzinfo=ZoneInfo("UTC")).astimezone(PARIS)


def test_a_skipped_hour_is_null_and_flagged_and_a_range_before_the_day_start_is_the_next_date():
    spec = _spec(Layout(kind="wide", timestamp="ts", timestamp_format="%Y-%m-%d %H:%M"))
    frame = pl.DataFrame({"ts": ["2024-03-31 02:00", "2024-03-31 03:00", "bad"]})
    assert frame.select(instants(spec))["ts"].to_list()[0] is None
    assert frame.select(skipped_local(spec))["ts"].to_list() == [True, False, False]
    ranged = _spec(Layout(kind="wide", date="d", time="h", time_format="%-H:%M", time_is_range=True,
                          day_starts_at="06:00"))
    got = _read(ranged, d=["2024-01-01", "2024-01-01"], h=["6:00-6:59", "5:00-5:59"])
    assert got == [datetime(2024, 1, 1, 6, tzinfo=PARIS), datetime(2024, 1, 2, 5, tzinfo=PARIS)]


def test_an_offset_is_foreign_where_the_zone_has_another_at_that_instant_but_utc_is_an_instant():
    spec = _spec(Layout(kind="wide", timestamp="ts"))
    cells = ["2024-10-27T02:30:00+01:00", "2024-10-27T02:30:00+02:00", "2024-07-01T12:00:00+01:00",
             "2024-07-01T12:00:00+13:00", "2024-07-01T12:00:00Z", "2024-07-01T12:00:00+0000", "2024-07-01 12:00", "bad"]
    got = pl.DataFrame({"ts": cells}).select(foreign_offsets(spec).alias("f"))["f"].to_list()
    # Both readings of the repeated hour are Paris's; +01:00 in July and +13:00 are not.
    assert got == [None, None, "+01:00", "+13:00", None, None, None, None]
    naive = _spec(Layout(kind="wide", timestamp="ts", timestamp_format="%Y-%m-%d %H:%M"))
    assert pl.DataFrame({"ts": ["2024-07-01 12:00"]}).select(foreign_offsets(naive).alias("f"))["f"].to_list() == [None]
