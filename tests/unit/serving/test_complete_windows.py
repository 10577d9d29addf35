"""The data file itself as served input: any row order, the last complete window of every zone,
and a zone without enough recent counts named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dpforecast.data import synthetic
from dpforecast.data.ingest import read_raw
from dpforecast.data.schema import ROW
from dpforecast.data.spec import DatasetSpec, load_spec
from dpforecast.serving.complete_windows import last_complete_stretch
from dpforecast.serving.window import WindowInputError, recent_counts, window_inputs

WINDOW = 6


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> tuple[DatasetSpec, pl.DataFrame]:
    """A long data file (unique_id, ds, y; southern clock) read as text, and its spec."""
    root = tmp_path_factory.mktemp("city")
    frame = synthetic.generate(zones=3, days=5, interval_minutes=60, start="2024-04-04", timezone="Pacific/Auckland")
    csv, spec_path = synthetic.write(frame, root / "data", "city", "long", root=root)
    return load_spec(spec_path), read_raw(Path(csv)).drop(ROW)


def _stretch(spec: DatasetSpec, rows: pl.DataFrame):
    counts = recent_counts(rows, spec, spec.zone_ids, source="city.csv")
    return last_complete_stretch(counts, WINDOW, spec.clock, spec.zone_names, source="city.csv")


def test_the_data_file_in_any_row_order_gives_the_model_the_same_last_window(city):
    spec, rows = city
    shuffled = rows.sample(fraction=1.0, shuffle=True, seed=1)
    ordered, mixed = _stretch(spec, rows), _stretch(spec, shuffled)
    assert mixed.note == "" and mixed.counts.equals(ordered.counts) and mixed.counts.height == 5 * 24
    x, origins = window_inputs(mixed.counts.tail(WINDOW), WINDOW, 7.0, spec.interval_minutes)
    short = ordered.counts.tail(WINDOW).with_columns(pl.col("timestamp").dt.to_string("%Y-%m-%dT%H:%M:%S%:z"))
    x_short, origins_short = window_inputs(recent_counts(short, spec, spec.zone_ids), WINDOW, 7.0, spec.interval_minutes)
    assert np.array_equal(x, x_short) and origins == origins_short
    assert origins[-1].isoformat() == "2024-04-08T22:00:00+12:00"  # the file's last interval, after the change


def test_a_zone_without_enough_recent_rows_is_named(city):
    spec, rows = city
    by_zone = rows.sort("unique_id", "ds")
    with pytest.raises(WindowInputError, match=r"city.csv: no 6 consecutive 60-minute intervals with a count for every "
                                               r"zone: .*zone z0001 \(Synthetic zone 0001\) has a count in 0 of the 6"):
        _stretch(spec, by_zone.tail(20))  # "the last rows" of a file sorted by zone hold one zone
    last = by_zone.filter(pl.col("unique_id") == "z0002")["ds"].sort()[-2:]
    late = _stretch(spec, rows.filter(~((pl.col("unique_id") == "z0002") & pl.col("ds").is_in(last))))
    assert late.counts["timestamp"][-1].isoformat() == "2024-04-08T20:00:00+12:00"
    assert late.note.startswith("forecast from the last complete window, ending 2024-04-08T20:00:00+12:00: the last 6 "
                                "intervals up to 2024-04-08T22:00:00+12:00")
    assert "zone z0002 (Synthetic zone 0002) has a count in 4 of the 6 present, none at 2024-04-08T21:00:00+12:00" \
        in late.note


def test_an_empty_count_or_a_hole_ends_a_stretch_and_the_next_one_serves(city):
    spec, rows = city
    times = rows["ds"].unique().sort()
    emptied = rows.with_columns(pl.when((pl.col("unique_id") == "z0003") & (pl.col("ds") == times[10]))
                                .then(None).otherwise(pl.col("y")).alias("y"))
    assert _stretch(spec, emptied).counts["timestamp"][0] == _stretch(spec, rows).counts["timestamp"][11]
    recent = rows.filter(pl.col("ds").is_in(times[-8:].to_list()))  # 15:00 to 22:00
    with pytest.raises(WindowInputError, match=r"up to 2024-04-08T22:00:00\+12:00 .*; no row for 1 of them"):
        _stretch(spec, recent.filter(pl.col("ds") != times[-3]))  # no row at all at 20:00
