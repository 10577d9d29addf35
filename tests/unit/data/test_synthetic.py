"""The synthetic data set generator: its series, and the CSV and spec it writes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dpforecast.data import synthetic
from dpforecast.data.spec import load_spec

TZ = "Europe/Paris"


def _zones(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c != "timestamp"]


def test_shape_names_and_types():
    frame = synthetic.generate(6, 3, interval_minutes=30)
    assert frame.shape == (3 * 48, 7)
    assert frame.columns == ["timestamp", "z0001", "z0002", "z0003", "z0004", "z0005", "z0006"]
    assert frame.schema["timestamp"] == pl.Datetime("us", TZ)
    assert all(frame.schema[z] == pl.Int64 for z in _zones(frame))
    assert synthetic.generate(3, 2, interval_minutes=60).height == 48
    assert synthetic.zone_ids(12000)[0] == "z00001"


@pytest.mark.parametrize(("start", "local_hours"), [("2024-03-30", 23), ("2024-10-26", 25)])
def test_grid_is_regular_in_real_time_across_dst(start: str, local_hours: int):
    frame = synthetic.generate(2, 3, start=start)
    utc = frame["timestamp"].dt.convert_time_zone("UTC")
    assert set(utc.diff().drop_nulls()) == {timedelta(minutes=30)}
    assert frame["timestamp"][0].hour == 0  # starts at local midnight
    wall = frame["timestamp"].dt.replace_time_zone(None)
    dst_day = wall.filter(wall.dt.day() == int(start[-2:]) + 1)
    # The wall clock skips (spring) or repeats (autumn) one hour on the DST day.
    assert dst_day.len() == 2 * local_hours
    assert (dst_day.n_unique() < dst_day.len()) == (local_hours == 25)


@pytest.mark.parametrize(("zone", "start"), [("Pacific/Auckland", "2024-04-01"), ("Europe/Paris", "2024-10-21")])
def test_a_local_clock_grid_has_the_changes_longer_interval_and_counts_for_its_length(zone: str, start: str):
    frame = synthetic.generate(3, 14, interval_minutes=120, start=start, timezone=zone, hierarchy=False,
                               interval_clock="local")
    assert frame.height == 14 * 12  # every local day has twelve 2-hour intervals
    wall = frame["timestamp"].dt.replace_time_zone(None)
    assert (wall.dt.hour() % 2 == 0).all() and (wall.dt.minute() == 0).all()
    minutes = frame["timestamp"].diff().dt.total_minutes().drop_nulls()
    assert minutes.value_counts().sort("timestamp").rows() == [(120, 14 * 12 - 2), (180, 1)]
    # The 3-hour interval counts about half as many people again as the same interval on the same weekday.
    long = frame.filter(frame["timestamp"].diff().shift(-1).dt.total_minutes() == 180)["timestamp"][0]
    same = frame.filter(wall.dt.hour() == long.hour, (wall.dt.date() - long.date()).dt.total_days().abs() == 7)
    others = same.select(_zones(frame)).sum().row(0)
    assert same.height >= 1
    ratio = sum(frame.filter(pl.col("timestamp") == long).select(_zones(frame)).row(0)) / (sum(others) / same.height)
    assert 1.2 < ratio < 1.8
    spec = synthetic.spec_dict(frame, "city", "city.csv", interval_clock="local")
    assert (spec["interval_minutes"], spec["interval_clock"]) == (120, "local")
    assert "interval_clock" not in synthetic.spec_dict(synthetic.generate(2, 2), "town", "town.csv")


def test_counts_are_non_negative_and_complete_without_stretches():
    frame = synthetic.generate(20, 7, seed=1)
    values = frame.select(_zones(frame)).to_numpy()
    assert frame.select(_zones(frame)).null_count().row(0) == (0,) * 20
    assert values.min() >= 0
    # Zones differ in size (log-normal scales).
    means = values[:, 1:].mean(axis=0)
    assert means.max() / means.min() > 3


def _profile_corr(frame: pl.DataFrame, zone: str, clock: pl.Series) -> float:
    """Correlation of a zone's counts with its mean by (half hour of ``clock``, weekend)."""
    slot = (clock.dt.hour() * 2 + clock.dt.minute() // 30).alias("slot")
    weekend = (frame["timestamp"].dt.weekday() >= 6).alias("weekend")
    series = frame.select(pl.col(zone).cast(pl.Float64), slot, weekend)
    profile = series.with_columns(pl.col(zone).mean().over("slot", "weekend").alias("profile"))
    return profile.select(pl.corr(zone, "profile")).item()


def test_daily_and_weekly_seasonality_follow_local_time():
    frame = synthetic.generate(6, 28, start="2024-03-18", seed=2)  # spans the spring DST change
    ts = frame["timestamp"]
    for z in _zones(frame):
        # Small zones are noisier (Poisson); the total, summed over many, is the clearest.
        assert _profile_corr(frame, z, ts) > (0.85 if z == "z0001" else 0.4), z
    # The routine is in wall-clock time: it fits the local clock better than UTC.
    utc = ts.dt.convert_time_zone("UTC")
    assert _profile_corr(frame, "z0001", ts) > _profile_corr(frame, "z0001", utc) + 0.01
    # Weekdays and weekends differ.
    days = frame.group_by((ts.dt.weekday() >= 6).alias("weekend")).agg(pl.col("z0001").mean()).sort("weekend")["z0001"]
    assert abs(days[0] - days[1]) / days[0] > 0.03


def test_hierarchy_total_is_the_sum_of_the_leaves():
    frame = synthetic.generate(8, 4, seed=3)
    leaves = _zones(frame)[1:]
    assert (frame["z0001"] == frame.select(pl.sum_horizontal(leaves))[:, 0]).all()
    flat = synthetic.generate(8, 4, seed=3, hierarchy=False)
    assert not (flat["z0001"] == flat.select(pl.sum_horizontal(_zones(flat)[1:]))[:, 0]).all()
    with pytest.raises(ValueError):
        synthetic.generate(1, 2)


def test_missing_stretches_are_nulls_in_runs():
    frame = synthetic.generate(10, 14, seed=4, missing_stretches=5)
    nulls = frame.select(_zones(frame)).null_count().row(0)
    assert sum(nulls) >= 5 * 4  # each stretch is at least two hours (4 half hours)
    assert max(nulls) < frame.height  # no zone is emptied
    # Missing readings hide a leaf, not its people: complete rows still sum exactly.
    complete = frame.drop_nulls()
    assert 0 < complete.height < frame.height
    assert (complete["z0001"] == complete.select(pl.sum_horizontal(_zones(frame)[1:]))[:, 0]).all()
    # Outside the stretches, the counts are those of the same seed without stretches.
    whole = synthetic.generate(10, 14, seed=4)
    for z in _zones(frame):
        kept = frame[z].is_not_null()
        assert (frame[z].filter(kept) == whole[z].filter(kept)).all()


def test_determined_by_the_seed():
    a = synthetic.generate(5, 3, seed=7, missing_stretches=2)
    assert a.equals(synthetic.generate(5, 3, seed=7, missing_stretches=2))
    assert not a.equals(synthetic.generate(5, 3, seed=8, missing_stretches=2))


def _read_times(column: pl.Series) -> pl.Series:
    return column.str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_unit="us").dt.convert_time_zone("UTC")


@pytest.mark.parametrize("stretches", [0, 3])
def test_wide_csv_and_spec_round_trip(tmp_path: Path, stretches: int):
    frame = synthetic.generate(5, 10, start="2024-10-20", seed=5, missing_stretches=stretches)
    csv, spec_path = synthetic.write(frame, tmp_path / "data" / "synthetic", "syn-wide", root=tmp_path, seed=5)
    assert csv == tmp_path / "data" / "synthetic" / "syn-wide.csv"
    assert spec_path == tmp_path / "datasets" / "syn-wide.yaml"
    text = csv.read_text()
    assert text.startswith("timestamp,z0001,z0002,z0003,z0004,z0005\n2024-10-20T00:00:00+02:00,")
    assert "2024-10-27T02:00:00+02:00," in text and "2024-10-27T02:00:00+01:00," in text  # repeated hour
    back = pl.read_csv(csv, schema_overrides={"timestamp": pl.String, **dict.fromkeys(_zones(frame), pl.Int64)})
    assert (_read_times(back["timestamp"]) == frame["timestamp"].dt.convert_time_zone("UTC")).all()
    assert back.drop("timestamp").equals(frame.drop("timestamp"))

    spec = load_spec(spec_path)
    assert spec.raw == "data/synthetic/syn-wide.csv"
    assert spec.layout.kind == "wide" and spec.layout.timestamp == "timestamp"
    assert spec.zone_ids == _zones(frame) and spec.source_columns() == back.columns
    assert spec.zone_names["z0003"] == "Synthetic zone 0003"
    assert spec.privacy.contains == {"z0001": ("z0002", "z0003", "z0004", "z0005")}
    assert spec.privacy.counts_per_person == 2
    assert (spec.interval_minutes, spec.timezone) == (30, TZ)
    assert spec.missing_values == ("gap" if stretches else "refuse")
    assert spec.source.license == "CC0-1.0" and spec.source.citation.endswith("seed 5")
    assert (spec.protocol.test_days, spec.protocol.validation_days, spec.protocol.history_days) == (7, 7, None)
    assert sorted(p.name for p in tmp_path.rglob(".*")) == []  # no temporary files left


def test_long_csv_and_spec_round_trip(tmp_path: Path):
    frame = synthetic.generate(4, 9, start="2024-03-25", seed=6, missing_stretches=3, hierarchy=False)
    spec_dir = tmp_path / "specs"
    csv, spec_path = synthetic.write(frame, tmp_path / "out", "syn-long", "long", root=tmp_path, spec_dir=spec_dir)
    assert spec_path == spec_dir / "syn-long.yaml"
    back = pl.read_csv(csv, schema_overrides={"unique_id": pl.String, "ds": pl.String, "y": pl.Int64})
    assert back.columns == ["unique_id", "ds", "y"]
    assert back.height == frame.height * 4  # rows with a missing count are kept
    assert back["y"].null_count() == sum(frame.select(_zones(frame)).null_count().row(0)) > 0
    expected = frame.unpivot(index="timestamp", variable_name="unique_id", value_name="y")
    got = back.with_columns(_read_times(pl.col("ds")).alias("timestamp"))
    key = ["unique_id", "timestamp"]
    joined = expected.with_columns(pl.col("timestamp").dt.convert_time_zone("UTC")).join(got, on=key, how="full")
    assert joined.height == back.height
    assert (joined["y"].fill_null(-1) == joined["y_right"].fill_null(-1)).all()

    spec = load_spec(spec_path)
    assert spec.raw == "out/syn-long.csv"
    layout = spec.layout
    assert (layout.kind, layout.timestamp, layout.zone, layout.count) == ("long", "ds", "unique_id", "y")
    assert spec.zone_ids == ["z0001", "z0002", "z0003", "z0004"]
    assert [z.source for z in spec.zones] == spec.zone_ids
    assert spec.privacy.contains == {} and spec.privacy.counts_per_person == 1  # detected: no hierarchy
    assert spec.missing_values == "gap"


def test_generated_year_is_fast_enough_to_benchmark():
    frame = synthetic.generate(50, 365, missing_stretches=10)
    assert frame.shape == (17520, 51)
    values = frame.select(_zones(frame)).to_numpy()
    assert np.nanmin(np.where(np.isnan(values), 0, values)) >= 0
