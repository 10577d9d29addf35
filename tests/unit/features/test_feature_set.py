"""The feature set in memory: calendar table, raw targets, window index and what was dropped."""

from __future__ import annotations

import polars as pl
import pytest

from dpforecast.config import params_from_dict, resolve
from dpforecast.data import synthetic
from dpforecast.data.spec import load_spec
from dpforecast.features.feature_set import build_feature_set
from dpforecast.features.zones import SplitError


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    root = tmp_path_factory.mktemp("town")
    series = synthetic.generate(zones=3, days=21, interval_minutes=60, start="2024-03-01", timezone="Europe/Paris")
    _, path = synthetic.write(series, root / "data", "town", root=root)
    spec = load_spec(path)
    params = resolve(params_from_dict({"dataset": spec.name, "features": {"window": 6, "horizon": 2},
                                       "split": {"test_days": 3, "validation_days": 3}}), spec)
    return params, series.select("timestamp", *spec.zone_ids)


def test_targets_are_the_raw_counts_and_the_table_the_training_series(town):
    params, raw = town
    noisy = raw.with_columns(pl.col(z) + 1 for z in raw.columns[1:])
    features = build_feature_set(raw, noisy, params)
    zones = list(features.targets.columns)
    assert zones == raw.columns[1:] and features.summary["modelled_zones"] == zones
    assert features.targets.equals(raw.select(zones)) and features.table.select(zones).equals(noisy.select(zones))
    assert {"timestamp", *zones} < set(features.table.columns)  # and the calendar features
    counts = features.counts
    assert counts == features.summary["windows"] and min(counts.values()) > 0
    test = features.windows.filter(pl.col("split") == "test")
    assert (raw["timestamp"].max() - test["target_time"].min()).days == 2  # the last 3 days


def test_a_missing_count_removes_the_windows_that_touch_it_and_says_so(town):
    params, raw = town
    holed = raw.with_columns(pl.when(pl.int_range(pl.len()) == 100).then(None).otherwise(pl.col(raw.columns[1]))
                             .alias(raw.columns[1]))
    features = build_feature_set(holed, holed, params)
    assert features.summary["missing_counts"] == {raw.columns[1]: 1}
    # the window of 6 inputs + 2 leads around the hole: 8 windows touch it
    assert features.summary["windows_dropped_for_missing_counts"] == 8


def test_a_zone_with_no_count_in_the_test_block_leaves_no_test_window_and_is_refused(town):
    params, raw = town
    zone = raw.columns[1]
    silent = raw.with_columns(pl.when(pl.int_range(pl.len()) >= raw.height - 24 * 3).then(None)
                              .otherwise(pl.col(zone)).alias(zone))
    with pytest.raises(SplitError, match="the split leaves no training or no test window"):
        build_feature_set(silent, silent, params)


def test_a_training_series_on_other_timestamps_is_refused(town):
    params, raw = town
    with pytest.raises(ValueError, match="different timestamps"):
        build_feature_set(raw, raw.tail(raw.height - 1), params)


def test_the_summary_states_each_splits_target_period_and_why_windows_were_removed(town):
    params, raw = town
    gapped = raw.filter(pl.int_range(pl.len()) != 200)  # an hour absent from the grid
    zone = raw.columns[1]
    holed = gapped.with_columns(pl.when(pl.int_range(pl.len()) == 100).then(None).otherwise(pl.col(zone)).alias(zone))
    features = build_feature_set(holed, holed, params)
    assert features.summary["periods"] == {
        "train": {"first": "2024-03-01T06:00:00+01:00", "last": "2024-03-15T23:00:00+01:00"},
        "validation": {"first": "2024-03-16T00:00:00+01:00", "last": "2024-03-18T23:00:00+01:00"},
        "test": {"first": "2024-03-19T00:00:00+01:00", "last": "2024-03-21T23:00:00+01:00"}}
    removed = features.summary["windows_removed"]
    # 6 inputs and 2 leads: 7 windows span the absent hour, 8 touch the missing count, and one
    # window at each of the two block boundaries has its leads in both
    assert removed == {"before_history": 0, "gap_in_time": 7, "two_blocks": 2, "missing_count": 8}
    assert sum(features.counts.values()) + sum(removed.values()) == holed.height - 7  # every candidate, once
    assert features.summary["windows_dropped_for_missing_counts"] == 8

