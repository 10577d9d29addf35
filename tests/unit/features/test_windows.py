"""Windowing, the chronological split and the persistence baseline on the real data."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dpforecast.data import synthetic
from dpforecast.data.clock import Clock
from dpforecast.evaluation.metrics import forecast_errors
from dpforecast.features.calendar import add_calendar_features
from dpforecast.features.windows import make_windows, split_counts, window_arrays
from dpforecast.models.persistence import persistence_forecast

from montreuil_spec import SPEC, ZONES

# The study's Table 3, persistence rows.
PAPER_RMSE = {"r1": 3461.6, "r2": 1131.8, "r3": 1517.9, "r4": 986.5, "r5": 561.3, "r6": 1362.3, "mean": 1503.6}
PAPER_MAE = {"r1": 2597.5, "r2": 839.4, "r3": 1105.8, "r4": 744.1, "r5": 434.3, "r6": 921.5, "mean": 1107.1}


@pytest.mark.real_data
def test_series_is_timezone_aware_across_the_change_of_time(table):
    ts = table["timestamp"]
    assert str(ts.dtype) == "Datetime(time_unit='us', time_zone='Europe/Paris')"
    steps = ts.diff().dt.total_minutes().drop_nulls().value_counts().sort("timestamp")
    # 30-minute grid except the missing day (1470 min) and the repeated hour (90 min).
    assert dict(steps.iter_rows()) == {30: 3453, 90: 1, 1470: 1}


@pytest.mark.real_data
def test_study_split_counts_come_out_exactly(table):
    windows = make_windows(table, 6, 1, contiguous=True, test_days=7, validation_days=0, clock=SPEC.clock, zones=ZONES)
    assert split_counts(windows) == {"train": 3114, "validation": 0, "test": 336}
    test = windows.filter(pl.col("split") == "test")["target_time"]
    assert str(test.min()) == "2020-10-29 00:00:00+01:00"
    assert str(test.max()) == "2020-11-04 23:30:00+01:00"


@pytest.mark.real_data
def test_by_default_no_window_straddles_a_gap(table):
    windows = make_windows(table, 6, 1, contiguous=False, test_days=7, validation_days=0, clock=SPEC.clock, zones=ZONES)
    # Six windows end inside each of the two gaps' shadows.
    assert split_counts(windows) == {"train": 3114 - 12, "validation": 0, "test": 336}
    instants = table["timestamp"].dt.epoch("s").to_numpy()
    span = instants[windows["target_row"].to_numpy()] - instants[windows["start_row"].to_numpy()]
    assert set(span.tolist()) == {6 * 1800}


@pytest.mark.real_data
def test_validation_block_is_carved_from_the_end_of_training(table):
    windows = make_windows(table, 6, 1, contiguous=False, test_days=7, validation_days=7, clock=SPEC.clock, zones=ZONES)
    counts = split_counts(windows)
    assert counts["test"] == 336 and counts["validation"] > 0
    by_split = {s: windows.filter(pl.col("split") == s)["target_time"] for s in ("train", "validation", "test")}
    assert by_split["train"].max() < by_split["validation"].min()
    assert by_split["validation"].max() < by_split["test"].min()


@pytest.mark.real_data
def test_persistence_reproduces_the_study_table3(table):
    windows = make_windows(table, 6, 1, contiguous=True, test_days=7, validation_days=0, clock=SPEC.clock, zones=ZONES)
    x, y = window_arrays(table, windows, "test", 6, 1, ZONES)
    errors = forecast_errors(y, persistence_forecast(x, len(ZONES)), ZONES)
    assert x.shape == (336, 6, 10) and y.shape == (336, 1, 6)
    for zone in [*ZONES, "mean"]:
        assert errors["rmse"][zone] == pytest.approx(PAPER_RMSE[zone], abs=0.05)
        assert errors["mae"][zone] == pytest.approx(PAPER_MAE[zone], abs=0.05)


@pytest.mark.real_data
def test_a_horizon_is_every_step_after_the_window_and_never_straddles_a_block(table):
    windows = make_windows(table, 6, 48, contiguous=False, test_days=7, validation_days=7, clock=SPEC.clock, zones=ZONES)
    assert (windows["target_row"] - windows["start_row"]).unique().to_list() == [6]
    x, y = window_arrays(table, windows, "test", 6, 48, ZONES)
    assert y.shape == (len(x), 48, 6)
    counts = table.select(ZONES).to_numpy()
    first = windows.filter(pl.col("split") == "test").row(0, named=True)
    assert np.array_equal(y[0], counts[first["target_row"]:first["target_row"] + 48])
    # A day of test origins is lost to the horizon: the last targets of a window stay in its block.
    assert split_counts(windows)["test"] == 336 - 47
    instants = table["timestamp"].dt.epoch("s").to_numpy()
    starts = {s: windows.filter(pl.col("split") == s)["target_time"].min().timestamp() for s in ("validation", "test")}
    for split, following in (("train", "validation"), ("validation", "test")):
        rows = windows.filter(pl.col("split") == split)["target_row"].to_numpy() + 47
        assert instants[rows].max() < starts[following]
    # No window spans the missing day or the repeated hour.
    span = instants[windows["target_row"].to_numpy() + 47] - instants[windows["start_row"].to_numpy()]
    assert set(span.tolist()) == {53 * 1800}


def test_windows_across_a_change_of_time_on_a_local_clock_are_kept():
    """2-hour counts in Auckland: the 3-hour interval of 2024-04-07 is consecutive on the
    local clock; read on an absolute clock, every window over it would straddle a gap."""
    frame = synthetic.generate(2, 21, 120, start="2024-03-25", timezone="Pacific/Auckland", hierarchy=False,
                               interval_clock="local")
    table = add_calendar_features(frame, 7.0)
    local = Clock(120, "Pacific/Auckland", local=True)
    kept = make_windows(table, 12, 12, False, 1, 0, local, ["z0001", "z0002"])
    absolute = make_windows(table, 12, 12, False, 1, 0, Clock(120, "Pacific/Auckland"), ["z0001", "z0002"])
    every = make_windows(table, 12, 12, True, 1, 0, local, ["z0001", "z0002"])  # no gap check at all
    assert kept.equals(every) and kept.height > 200
    change = table["timestamp"].dt.date().cast(pl.String) == "2024-04-07"
    first = int(np.flatnonzero(change.to_numpy())[0])
    spanning = kept.filter(pl.col("start_row") <= first + 1, pl.col("start_row") + 23 >= first + 2)
    assert spanning.height == 23 and absolute.height == kept.height - 23  # 24 rows: 23 windows hold the step
