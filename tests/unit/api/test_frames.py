"""Long frames in: checked by the data set's own suite, whatever their flavour."""

from __future__ import annotations

import polars as pl
import pytest

from dpforecast.api.frames import FrameError, to_long, to_series
from dpforecast.config import Params, resolve
from dpforecast.validation import DataValidationError


@pytest.fixture
def params(spec) -> Params:
    return resolve(Params(dataset=spec.name), spec)


def test_polars_pandas_naive_and_other_zone_frames_give_the_same_series(params, frame):
    series = to_series(frame, params)
    assert series.height == frame["ds"].n_unique() and series.columns == ["timestamp", *params.data_set.zone_ids]
    assert to_long(series, params.data_set.zone_ids).equals(frame.sort("unique_id", "ds"))
    for other in (frame.to_pandas(),
                  frame.with_columns(pl.col("ds").dt.convert_time_zone("UTC")),
                  frame.with_columns(pl.col("ds").dt.replace_time_zone(None))):  # the data set's wall clock
        assert to_series(other, params).equals(series)


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.with_columns(pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("zz")).otherwise(pl.col("unique_id"))
                              .alias("unique_id")), r"column 'unique_id' \(not a zone of this data set\).*line 6: 'zz'"),
    (lambda f: pl.concat([f, f.head(1)]), "a zone appears more than once at this time"),
    (lambda f: f.with_columns(pl.col("y").cast(pl.Float64) + 0.5), r"column 'y' \(not a non-negative integer\)"),
    (lambda f: f.filter(pl.col("ds") != pl.col("ds").unique().sort().get(100)), "unexpected_step_minutes"),
])
def test_a_bad_frame_is_refused_with_the_column_and_row(params, frame, change, message):
    with pytest.raises(DataValidationError, match=message):
        to_series(change(frame), params)


def test_a_frame_without_the_long_columns_is_refused_by_name(params, frame):
    with pytest.raises(FrameError, match="missing column"):
        to_series(frame.rename({"y": "count"}), params)
    with pytest.raises(FrameError, match="column ds is Int64"):
        to_series(frame.with_columns(pl.lit(1).cast(pl.Int64).alias("ds")), params)
    with pytest.raises(FrameError, match="expected a Polars or pandas DataFrame"):
        to_series([1, 2, 3], params)


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.with_columns(pl.lit(float("nan")).alias("y")), r"column 'y' \(empty cell\)"),
    (lambda f: f.with_columns(pl.lit(1e30).alias("y")), r"column 'y' \(not a non-negative integer\).*'1e\+30'"),
    (lambda f: f.head(0), "fewer than 48 data rows"),
])
def test_floats_nan_and_an_empty_frame_are_refused_by_the_suite(params, frame, change, message):
    """NaN is pandas' missing value (refused here: the spec refuses missing counts); a float
    too large for a count and a frame with no row are refused by name, never a cast error."""
    with pytest.raises(DataValidationError, match=message):
        to_series(change(frame), params)


def test_a_pandas_column_of_mixed_objects_is_refused_by_name(params):
    import pandas as pd

    with pytest.raises(FrameError, match="column unique_id cannot be read as one type"):
        to_series(pd.DataFrame({"unique_id": ["z0001", 3], "ds": ["2024-03-01T00:00", None], "y": [1, 2]}), params)
