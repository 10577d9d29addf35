"""The regular grid a history-reading model sees, and its causal fill."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from dpforecast.models.regular import causal_fill, first_counts, regular_series


def test_rows_take_their_place_in_absolute_time_and_gaps_are_missing():
    paris = ZoneInfo("Europe/Paris")
    # across the end of summer time: 02:00 summer, 02:00 winter (absent), 03:00
    stamps = [datetime(2020, 10, 25, 1, tzinfo=paris), datetime(2020, 10, 25, 2, tzinfo=paris),
              datetime(2020, 10, 25, 3, tzinfo=paris)]
    table = pl.DataFrame({"timestamp": stamps, "a": [1.0, None, 3.0]})
    series = regular_series(table, ["a"], 60)
    assert series.position.tolist() == [0, 1, 3]  # the repeated hour is a grid step without a row
    assert np.isnan(series.values[[1, 2], 0]).all() and series.values[3, 0] == 3.0
    read_one = regular_series(table, ["a"], 60, read=1)
    assert read_one.values[0, 0] == 1.0 and np.isnan(read_one.values[1:, 0]).all()  # later counts are never read
    origins, ahead = series.lead_steps(np.array([[2]]))  # a window whose target row 2 follows row 1
    assert origins.tolist() == [1] and ahead.tolist() == [[2]]  # two grid steps ahead across the gap
    with pytest.raises(ValueError, match="not increasing steps of 60 minutes"):
        regular_series(pl.DataFrame({"timestamp": [stamps[0], stamps[0] + timedelta(minutes=7)], "a": [1.0, 2.0]}),
                       ["a"], 60)


def test_the_fill_uses_only_the_past():
    values = np.array([[np.nan, 1.0], [2.0, np.nan], [3.0, 5.0], [np.nan, np.nan], [np.nan, 7.0]])
    filled = causal_fill(values, season=2)
    assert np.isnan(filled[0, 0])  # nothing before the first count
    assert filled[1, 1] == 1.0  # one season back is before the series: the last value
    assert filled[3, 0] == 2.0 and filled[3, 1] == 1.0  # one season (2 steps) earlier, itself filled
    assert filled[4, 0] == 3.0
    for t in range(len(values)):  # a step's fill never changes with what follows it
        np.testing.assert_array_equal(causal_fill(values[:t + 1], 2), filled[:t + 1])
    assert first_counts(values).tolist() == [1, 0]


def test_a_local_clock_series_takes_its_wall_clock_grid_across_both_changes_of_time():
    """2-hour counts on Auckland's clock: 02:00-04:00 lasts 3 hours when the clocks go back,
    and the 02:00 the spring change skips is written at the change, 03:00."""
    auckland = ZoneInfo("Pacific/Auckland")
    for day, hours in ((datetime(2024, 4, 7), (0, 2, 4, 6)), (datetime(2024, 9, 29), (0, 3, 4, 6))):
        stamps = [(day + timedelta(hours=h)).replace(tzinfo=auckland) for h in hours]
        if day.month == 4:  # the first 02:00 (summer time) starts the 3-hour interval
            stamps[1] = datetime(2024, 4, 7, 2, fold=0, tzinfo=auckland)
        table = pl.DataFrame({"timestamp": stamps, "a": [1.0, 2.0, 3.0, 4.0]})
        series = regular_series(table, ["a"], 120)
        assert series.position.tolist() == [0, 1, 2, 3] and series.values[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
