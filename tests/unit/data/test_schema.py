"""dpforecast.data.schema: the pipeline's own column names, whatever the data set calls its columns."""

from __future__ import annotations

import polars as pl

from dpforecast.data.ingest import read_raw_files
from dpforecast.data.schema import ROW, TIMESTAMP
from dpforecast.features.calendar import add_calendar_features


def test_the_raw_table_numbers_each_row_by_its_line_in_the_file(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("when,a\n2024-01-01T00:00:00+00:00,1\n2024-01-01T01:00:00+00:00,2\n")
    raw = read_raw_files([path])
    assert ROW == "row"
    assert raw[ROW].to_list() == [2, 3]  # the header is line 1


def test_every_table_past_ingest_is_keyed_by_the_timestamp_column():
    series = pl.DataFrame({TIMESTAMP: pl.datetime_range(pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 1, 2), "1h",
                                                        eager=True, time_zone="UTC"), "a": [1, 2, 3]})
    assert TIMESTAMP == "timestamp"
    assert add_calendar_features(series, 7.0).columns[:2] == [TIMESTAMP, "a"]
