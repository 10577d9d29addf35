"""dpforecast.features.calendar: where each interval sits in its local day and "week"."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from dpforecast.data.ingest import drop_total, read_raw
from dpforecast.features.calendar import CALENDAR_FEATURES, add_calendar_features
from dpforecast.validation.derive import to_series

from montreuil_spec import SPEC


def _hours(start: str, end: str, zone: str) -> pl.DataFrame:
    stamps = pl.datetime_range(pl.datetime(*map(int, start.split("-"))), pl.datetime(*map(int, end.split("-"))),
                               "1h", eager=True, time_zone=zone)
    return pl.DataFrame({"timestamp": stamps, "a": np.arange(len(stamps))})


def test_the_day_pair_is_the_local_wall_clock_on_the_unit_circle():
    table = add_calendar_features(_hours("2024-1-1", "2024-1-2", "Europe/Paris"), 7.0)
    assert table.columns == ["timestamp", "a", *CALENDAR_FEATURES]
    midnight, six, noon = (table.row(h, named=True) for h in (0, 6, 12))
    assert (midnight["tod_sin"], midnight["tod_cos"]) == pytest.approx((0.0, 1.0))
    assert (six["tod_sin"], six["tod_cos"]) == pytest.approx((1.0, 0.0), abs=1e-12)
    assert (noon["tod_sin"], noon["tod_cos"]) == pytest.approx((0.0, -1.0), abs=1e-12)
    radius = table.select(pl.col("tod_sin") ** 2 + pl.col("tod_cos") ** 2).to_series()
    assert radius.to_numpy() == pytest.approx(1.0)


def test_across_a_change_of_time_the_features_follow_the_clock_not_utc():
    """Europe/Paris, 2024-03-31: 02:00 does not exist; 03:00 local is one UTC hour after 01:00."""
    table = add_calendar_features(_hours("2024-3-31", "2024-3-31-6", "Europe/Paris"), 7.0)
    clock = table["timestamp"].dt.hour().to_list()
    assert clock[:4] == [0, 1, 3, 4]
    three = table.row(2, named=True)
    assert three["tod_sin"] == pytest.approx(math.sin(2 * math.pi * 3 / 24))


def test_the_week_pair_repeats_after_its_period_and_the_day_pair_ignores_it():
    hours = _hours("2024-1-1", "2024-1-12", "UTC")
    three, seven = (add_calendar_features(hours, days) for days in (3.0, 7.0))
    at_five = [t.filter(pl.col("timestamp").dt.hour() == 5) for t in (three, seven)]
    assert at_five[0]["tow_sin"][0] == pytest.approx(at_five[0]["tow_sin"][3])
    assert at_five[0]["tow_sin"][0] != pytest.approx(at_five[0]["tow_sin"][1])
    assert at_five[1]["tow_cos"][0] == pytest.approx(at_five[1]["tow_cos"][7])
    assert at_five[1]["tow_cos"][0] != pytest.approx(at_five[1]["tow_cos"][3])
    assert three.select("tod_sin", "tod_cos").equals(seven.select("tod_sin", "tod_cos"))


@pytest.mark.real_data
def test_calendar_features_have_the_requested_period(raw_csv_path):
    series = drop_total(to_series(read_raw(raw_csv_path), SPEC))
    week = add_calendar_features(series, 7.0)
    # Same local time one week apart: same features (before the change of time).
    a = week.filter(pl.col("timestamp").dt.replace_time_zone(None) == pl.datetime(2020, 9, 1, 8, 30))
    b = week.filter(pl.col("timestamp").dt.replace_time_zone(None) == pl.datetime(2020, 9, 8, 8, 30))
    for c in ("tod_sin", "tod_cos", "tow_sin", "tow_cos"):
        assert a[c][0] == pytest.approx(b[c][0], abs=1e-9)
