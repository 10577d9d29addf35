"""dpforecast.stages.features: the feature set swapped in as one folder, and what the stage prints (windows per
split, their target periods, what was removed)."""

from __future__ import annotations

import json
from dataclasses import replace

import polars as pl
import pytest

from dpforecast.config import load_params
from dpforecast.features.zones import SplitError
from dpforecast.runtime.paths import Paths
from dpforecast.stages.features import build_features, features_report
from dpforecast.stages.ingest import ingest
from dpforecast.stages.validate import validate

from synthetic_project import make_synthetic_root


def _validated(root, **overrides):
    params = load_params(root / "params.yaml", **overrides)
    paths = Paths(root)
    ingest(root / params.data_set.raw, paths.raw_table)
    validate(paths.raw_table, paths.series, paths.validation_dir, params)
    return paths, params


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    paths, params = _validated(make_synthetic_root(tmp_path_factory.mktemp("features") / "p"))
    return paths, params, build_features(paths, params)


def test_the_folder_holds_the_table_targets_windows_and_summary(built):
    paths, params, counts = built
    assert sorted(p.name for p in paths.feature_table.parent.iterdir()) == [
        "summary.json", "table.parquet", "targets.parquet", "windows.parquet"]
    series, table = pl.read_parquet(paths.series), pl.read_parquet(paths.feature_table)
    assert table.columns == [*series.columns, "tod_sin", "tod_cos", "tow_sin", "tow_cos"]
    assert pl.read_parquet(paths.targets).equals(series.drop("timestamp"))
    windows = pl.read_parquet(paths.windows)
    assert windows.group_by("split").len().sort("split").rows() == sorted(counts.items())
    # 21 hourly days, 7 test and 7 validation days: every test and validation hour is a window's target
    assert counts["test"] == counts["validation"] == 7 * 24 and counts["train"] == 7 * 24 - 6


def test_the_summary_says_what_was_modelled_and_how(built):
    paths, params, counts = built
    summary = json.loads(paths.feature_summary.read_text())
    assert summary["modelled_zones"] == ["z0001", "z0002", "z0003", "z0004"] and summary["dropped_zones"] == []
    assert summary["windows"] == counts and summary["rows"] == 21 * 24
    assert summary["protocol"] == {"test_days": 7, "validation_days": 7, "history_days": None}
    assert summary["windows_dropped_for_missing_counts"] == 0 and summary["missing_counts"] == {}
    assert summary["dataset"] == "town"


def test_a_protocol_leaving_no_test_window_is_refused_naming_the_spec(tmp_path):
    paths, params = _validated(make_synthetic_root(tmp_path / "p", days=10), split={"validation_days": 1},
                               features={"window": "3d"})  # 2 training days cannot hold a 3-day window
    with pytest.raises(SplitError, match=r"datasets/town.yaml: the split leaves no training or no test window"):
        build_features(paths, params)
    assert not paths.feature_table.parent.exists()


def test_a_training_series_of_other_timestamps_is_refused(built, tmp_path):
    paths, params, _ = built
    other = Paths(tmp_path)
    other.series.parent.mkdir(parents=True)
    other.release_series.parent.mkdir(parents=True)
    pl.read_parquet(paths.series).write_parquet(other.series)
    pl.read_parquet(paths.series).head(10).write_parquet(other.release_series)
    released = replace(params, privacy=replace(params.privacy, mode="ip"))
    with pytest.raises(ValueError, match="the training series and the validated series have different timestamps"):
        build_features(other, released)


SUMMARY = {
    "timezone": "Pacific/Auckland",
    "windows": {"train": 4560, "validation": 84, "test": 84},
    "periods": {"train": {"first": "2024-03-01T12:00:00+13:00", "last": "2025-03-21T22:00:00+13:00"},
                "validation": {"first": "2025-03-22T00:00:00+13:00", "last": "2025-03-28T22:00:00+13:00"},
                "test": {"first": "2025-03-29T00:00:00+13:00", "last": "2025-04-04T22:00:00+13:00"}},
    "windows_removed": {"before_history": 120, "gap_in_time": 7, "two_blocks": 0, "missing_count": 66},
    "missing_counts": {"z0003": 48},
    "dropped_zones": ["z0005"],
    "protocol": {"test_days": 7, "validation_days": 7, "history_days": 365},
}


def test_the_report_gives_every_period_in_the_data_sets_zone_and_each_removal_with_its_reason():
    assert features_report(SUMMARY).splitlines() == [
        "features: windows train 4560, validation 84, test 84; target periods (Pacific/Auckland):",
        "  train       2024-03-01T12:00:00+13:00 to 2025-03-21T22:00:00+13:00",
        "  validation  2025-03-22T00:00:00+13:00 to 2025-03-28T22:00:00+13:00",
        "  test        2025-03-29T00:00:00+13:00 to 2025-04-04T22:00:00+13:00",
        "  removed: 7 straddling a gap in time, 0 with targets in two blocks, 66 touching a missing count (48 missing "
        "in 1 zone(s))",
        "  not used: 120 before the training history (365 days)",
        "  zones left out (no count in the training period): z0005",
    ]
