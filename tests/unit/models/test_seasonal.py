"""dpforecast.models.seasonal: the count at the same wall-clock time a season earlier, never past the origin."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dpforecast.config import Params
from dpforecast.models.base import FitContext
from dpforecast.models.seasonal import SeasonalNaive, lag_days_by_lead, seasonal_naive_forecast


def test_seasonal_naive_follows_the_wall_clock_and_leaves_missing_lags_empty():
    stamps = pl.datetime_range(pl.datetime(2020, 10, 23), pl.datetime(2020, 10, 27), "1h", eager=True,
                               time_zone="Europe/Paris")
    table = pl.DataFrame({"timestamp": stamps, "a": np.arange(len(stamps), dtype=np.int64)})
    table = table.with_columns(pl.when(pl.col("a") == 30).then(None).otherwise(pl.col("a")).alias("a"))
    rows = np.array([48, 60, 55, 2])
    # 10-25 00:00 <- 10-24 00:00 (row 24); 10-25 11:00 (after the change of time) <- 10-24 11:00
    # (row 35, not 36); 10-25 06:00 <- row 30, missing; row 2 has no day before it.
    out = seasonal_naive_forecast(table, rows, ["a"], 1, 60)[:, 0]
    assert out[0, 0] == 24 and out[1, 0] == 35
    assert np.isnan(out[2, 0]) and np.isnan(out[3, 0])


def test_seasonal_naive_never_reads_past_the_forecast_origin():
    """At a lead beyond the lag, the same time one more period back: what was known at the origin."""
    stamps = pl.datetime_range(pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 6), "1h", eager=True, time_zone="UTC")
    table = pl.DataFrame({"timestamp": stamps, "a": np.arange(len(stamps), dtype=np.float64)})
    origin = 72  # 01-04 00:00; leads 1..30 h, the targets are rows 73..102
    rows = origin + 1 + np.arange(30)[None, :]
    out = seasonal_naive_forecast(table, rows, ["a"], 1, 60)[0, :, 0]
    np.testing.assert_array_equal(out[:24], rows[0, :24] - 24)      # yesterday, known at the origin
    np.testing.assert_array_equal(out[24:], rows[0, 24:] - 48)      # 25-30 h ahead: two days back
    assert (out <= origin).all()
    assert lag_days_by_lead(7, 48 * 8, 30).tolist() == [7] * 336 + [14] * 48


def test_seasonal_naive_steps_back_a_day_more_where_a_23_hour_day_would_read_past_the_origin():
    """Europe/Paris, 2021-03-28 has 23 hours: from the origin 03-27 12:00, the leads 23.5 h and
    24 h land on 03-28 12:30 and 13:00 wall time, whose "yesterday" is after the origin."""
    stamps = pl.datetime_range(pl.datetime(2021, 3, 25), pl.datetime(2021, 3, 30), "30m", eager=True,
                               time_zone="Europe/Paris")
    table = pl.DataFrame({"timestamp": stamps, "a": np.arange(len(stamps), dtype=np.float64)})
    origin = 2 * 48 + 24  # 03-27 12:00
    rows = origin + 1 + np.arange(48)[None, :]
    out = seasonal_naive_forecast(table, rows, ["a"], 1, 30)[0, :, 0]
    assert (out <= origin).all()
    assert out[0] == 73          # 03-27 12:30 <- 03-26 12:30
    assert out[-3] == origin     # 03-28 12:00 <- 03-27 12:00, the origin itself
    assert out[-2:].tolist() == [73, 74]  # 03-28 12:30, 13:00 <- two days back, not 03-27 12:30, 13:00


def test_the_lag_grows_by_whole_seasons_with_the_lead():
    assert lag_days_by_lead(1, 4, 360).tolist() == [1, 1, 1, 1]      # 6 h to 24 h ahead: yesterday
    assert lag_days_by_lead(1, 5, 360).tolist() == [1, 1, 1, 1, 2]   # 30 h ahead: two days back
    assert lag_days_by_lead(2, 3, 1440).tolist() == [2, 2, 4]


def test_a_season_is_a_whole_number_of_days_named_by_its_lag():
    assert (SeasonalNaive().name, SeasonalNaive("7d").name, SeasonalNaive("3d").name) == (
        "seasonal_day", "seasonal_week", "seasonal_3d")
    assert SeasonalNaive("7d", alias="weekly").config() == {"alias": "weekly", "season": "7d"}
    for bad in ("0d", "1w", "1.5d", "d"):
        with pytest.raises(ValueError, match=f"season {bad!r} is not a whole number of days"):
            SeasonalNaive(bad)


def test_predict_reads_the_windows_targets_table(table, windows_of):
    test = windows_of(table, "test")
    model = SeasonalNaive("1d")
    assert model.fit(windows_of(table, "train"), windows_of(table, "validation"), FitContext(Params())).seconds == 0
    counts = table.select(["z0001", "z0002", "z0003"]).to_numpy()
    rows = test.index["target_row"].to_numpy()[:, None] + np.arange(3)
    np.testing.assert_array_equal(model.predict(test), counts[rows - 24])  # UTC+1 all January: 24 rows a day
